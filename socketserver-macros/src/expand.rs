//! `#[server]`: the user's struct, plus the `Service` implementation and the
//! `builder`/`bind` methods that compose the server its keys describe.

use crate::attr::{self, Concurrency, Errors};
use crate::diag::private;
use crate::valid::{self, Model, applies};
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

pub(crate) fn server(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let config = attr::parse(args, &mut errors);
    let item: syn::Item = match syn::parse2(input.clone()) {
        Ok(item) => item,
        Err(e) => return with_errors(input, Err(e)),
    };
    let strukt = match item {
        syn::Item::Struct(strukt) => strukt,
        other => {
            let (span, what) = match &other {
                syn::Item::Enum(e) => (e.enum_token.span, "an enum"),
                syn::Item::Fn(f) => (f.sig.fn_token.span, "a function"),
                syn::Item::Union(u) => (u.union_token.span, "a union"),
                syn::Item::Trait(t) => (t.trait_token.span, "a trait"),
                syn::Item::Impl(i) => (i.impl_token.span, "an `impl` block"),
                other => (other.span(), "this item"),
            };
            errors.add(
                span,
                format!(
                    "`#[server]` goes on a struct, not on {what}: the struct holds the \
                     server's shared state, and one of its methods is marked `#[handle]`"
                ),
            );
            return with_errors(input, errors.finish());
        }
    };
    let model = valid::validate(config, &mut errors);
    let generated = generate(&strukt, &model);
    let strukt = quote!(#strukt);
    with_errors(quote!(#strukt #generated), errors.finish())
}

/// The item as it was (so later code and IDEs still see it), plus the errors.
fn with_errors(item: TokenStream, errors: syn::Result<()>) -> TokenStream {
    match errors {
        Ok(()) => item,
        Err(e) => {
            let errors = e.to_compile_error();
            quote!(#item #errors)
        }
    }
}

fn generate(strukt: &syn::ItemStruct, model: &Model) -> TokenStream {
    let private = private();
    let ident = &strukt.ident;
    let (impl_generics, ty_generics, where_clause) = strukt.generics.split_for_impl();
    let predicates = where_clause.map(|w| {
        let p = w.predicates.iter();
        quote!(#(#p,)*)
    });
    // `valid.rs` has reported the transports and models this version lacks
    // and fallen back to TCP and threading in their place.
    let transport = quote!(#private::Tcp);
    let request = quote!(#private::StreamRequest<#private::TcpStream>);
    let concurrency = match model.concurrency {
        Concurrency::Sync => quote!(#private::Synchronous),
        _ => quote!(#private::Threading),
    };
    let settings = builder_calls(model);
    // Spanned at the struct's name: a missing `#[handle]` is reported there.
    let handle = quote_spanned! {ident.span()=>
        <Self>::only_one_method_may_be_marked_handle(self, __socketserver_request)
    };
    let service_bounds = quote_spanned! {ident.span()=>
        Self: #private::Send + #private::Sync + 'static
    };
    let addr = quote!(<Self::Request as #private::Request>::Addr);
    quote! {
        impl #impl_generics #private::Service for #ident #ty_generics
        where
            #predicates
            #service_bounds
        {
            type Request = #request;

            fn handle(&self, __socketserver_request: &mut Self::Request) -> #private::io::Result<()> {
                use #private::Fallback as _;
                #handle
            }

            fn setup(&self, __socketserver_request: &mut Self::Request) -> #private::io::Result<()> {
                use #private::Fallback as _;
                <Self>::__socketserver_hook_setup(self, __socketserver_request)
            }

            fn finish(&self, __socketserver_request: &mut Self::Request) -> #private::io::Result<()> {
                use #private::Fallback as _;
                <Self>::__socketserver_hook_finish(self, __socketserver_request)
            }

            fn verify_request(&self, __socketserver_client: &#addr) -> ::core::primitive::bool {
                use #private::Fallback as _;
                <Self>::__socketserver_hook_verify_request(self, __socketserver_client)
            }

            fn handle_error(
                &self,
                __socketserver_client: &#addr,
                __socketserver_error: &#private::RequestError,
            ) {
                use #private::Fallback as _;
                <Self>::__socketserver_hook_handle_error(
                    self,
                    __socketserver_client,
                    __socketserver_error,
                )
            }

            fn handle_timeout(&self) {
                use #private::Fallback as _;
                <Self>::__socketserver_hook_handle_timeout(self)
            }

            fn service_actions(&self) {
                use #private::Fallback as _;
                <Self>::__socketserver_hook_service_actions(self)
            }
        }

        impl #impl_generics #ident #ty_generics #where_clause {
            /// A builder of this server with the settings of its `#[server]`
            /// attribute, to override some at run time before binding.
            #[allow(dead_code)]
            pub fn builder(self) -> #private::Builder<#transport, #concurrency, Self>
            where
                Self: #private::Service<Request = #request>,
            {
                #private::Server::<#transport, #concurrency, Self>::builder(self) #settings
            }

            /// Binds this server to `addr` (port 0 picks a free port) and
            /// starts listening, with the settings of its `#[server]` attribute.
            #[allow(dead_code)]
            pub fn bind(
                self,
                __socketserver_addr: impl #private::ToSocketAddrs,
            ) -> #private::io::Result<#private::Server<#transport, #concurrency, Self>>
            where
                Self: #private::Service<Request = #request>,
            {
                Self::builder(self).bind(__socketserver_addr)
            }
        }
    }
}

/// The builder calls for the keys that were set.
fn builder_calls(model: &Model) -> TokenStream {
    let private = private();
    let c = &model.config;
    let mut calls = TokenStream::new();
    let duration = |nanos: u64| quote!(#private::Duration::from_nanos(#nanos));
    if let Some(s) = &c.backlog {
        let v = s.value;
        calls.extend(quote!(.backlog(#v)));
    }
    for (method, setting) in [
        ("reuse_address", &c.reuse_address),
        ("reuse_port", &c.reuse_port),
        ("nodelay", &c.nodelay),
        ("daemon_threads", &c.daemon_threads),
        ("block_on_close", &c.block_on_close),
    ] {
        // An option that does not apply was reported; leaving its call out
        // keeps the rest type-checking.
        if let Some(s) = setting
            && applies(method, model.transport, model.concurrency)
        {
            let method = syn::Ident::new(method, s.key);
            let v = s.value;
            calls.extend(quote!(.#method(#v)));
        }
    }
    if let Some(s) = &c.timeout {
        let d = duration(s.value);
        calls.extend(quote!(.timeout(#private::Some(#d))));
    }
    if let Some(s) = &c.poll_interval {
        let d = duration(s.value);
        calls.extend(quote!(.poll_interval(#d)));
    }
    if let Some(s) = &c.shutdown_timeout {
        let d = duration(s.value);
        calls.extend(quote!(.shutdown_timeout(#d)));
    }
    calls
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(args: TokenStream, item: TokenStream) -> syn::File {
        syn::parse2(server(args, item)).expect("the expansion parses as items")
    }

    #[test]
    fn a_struct_gets_a_service_impl_and_builder_methods() {
        let file = expand(
            quote!(concurrency = "sync", backlog = 5, timeout = "2s"),
            quote!(
                struct Echo;
            ),
        );
        let text = quote!(#file).to_string();
        assert!(matches!(file.items[0], syn::Item::Struct(_)));
        let service = file
            .items
            .iter()
            .find_map(|item| match item {
                syn::Item::Impl(i) if i.trait_.is_some() => Some(i),
                _ => None,
            })
            .expect("a trait impl");
        let trait_path = &service.trait_.as_ref().unwrap().1;
        assert_eq!(trait_path.segments.last().unwrap().ident, "Service");
        assert!(text.contains("Synchronous"), "{text}");
        assert!(text.contains(". backlog (5i32)"), "{text}");
        assert!(text.contains("from_nanos (2000000000u64)"), "{text}");
        assert!(
            text.contains("fn builder") && text.contains("fn bind"),
            "{text}"
        );
        assert!(!text.contains("compile_error"), "{text}");
    }

    #[test]
    fn mistakes_keep_the_struct_and_add_errors() {
        let file = expand(
            quote!(backlogg = 5),
            quote!(
                struct Echo;
            ),
        );
        let text = quote!(#file).to_string();
        assert!(matches!(file.items[0], syn::Item::Struct(_)));
        assert!(text.contains("compile_error"), "{text}");
        // The rest is still generated, so later code keeps compiling.
        assert!(text.contains("fn bind"), "{text}");
    }

    #[test]
    fn an_enum_is_refused_and_kept() {
        let file = expand(
            quote!(),
            quote!(
                enum Echo {
                    A,
                }
            ),
        );
        let text = quote!(#file).to_string();
        assert!(matches!(file.items[0], syn::Item::Enum(_)));
        assert!(text.contains("goes on a struct, not on an enum"), "{text}");
    }
}
