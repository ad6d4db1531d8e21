//! `#[server]`: the user's struct, plus the `Service` implementation and the
//! `builder`/`bind` methods that compose the server its keys describe, all
//! read from the tables of `table.rs`.

use crate::attr::{self, Parsed};
use crate::diag::{Errors, private, return_type, server_type};
use crate::table::{Choice, HANDLER, HOOKS, Method, Sets, Transport};
use crate::valid::{self, Model};
use proc_macro2::{Literal, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

pub(crate) fn server(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let config = attr::parse(args, &mut errors);
    let item: syn::Item = match syn::parse2(input.clone()) {
        Ok(item) => item,
        Err(e) => {
            errors.push(e);
            return errors.emit(input);
        }
    };
    let mut strukt = match item {
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
            // On the struct's `impl` block, its `#[handle]` and `#[hook]`
            // methods still find the types they take, so that the error above
            // is the only one.
            let types = match &other {
                syn::Item::Impl(block) if block.trait_.is_none() => {
                    let private = private();
                    let (impl_generics, _, where_clause) = block.generics.split_for_impl();
                    let self_ty = &block.self_ty;
                    let request = format_ident!("{}", Transport::DEFAULT.request());
                    let addr = format_ident!("{}", Transport::DEFAULT.addr());
                    Some(quote! {
                        impl #impl_generics #private::ServerTypes for #self_ty #where_clause {
                            type Request = #private::#request;
                            type Addr = #private::#addr;
                        }
                    })
                }
                _ => None,
            };
            return errors.emit(quote!(#input #types));
        }
    };
    // A second `#[server]` below this one: said once, here, and taken off so
    // that it does not define everything a second time.
    strukt.attrs.retain(|attr| {
        let again = attr
            .path()
            .segments
            .last()
            .is_some_and(|s| s.ident == "server");
        if again {
            errors.add_spanned(
                attr,
                format!(
                    "`#[server]` is written twice on `{}`; keep one, with all the keys",
                    strukt.ident
                ),
            );
        }
        !again
    });
    let model = valid::validate(config, &mut errors);
    let generated = generate(&strukt, &model);
    errors.emit(quote!(#strukt #generated))
}

fn generate(strukt: &syn::ItemStruct, model: &Model) -> TokenStream {
    let private = private();
    let ident = &strukt.ident;
    let (impl_generics, ty_generics, where_clause) = strukt.generics.split_for_impl();
    let predicates = where_clause.map(|w| {
        let p = w.predicates.iter();
        quote!(#(#p,)*)
    });
    let runtime = |name: &str| {
        let name = format_ident!("{}", name);
        quote!(#private::#name)
    };
    let transport = runtime(model.transport.runtime());
    let addr = runtime(model.transport.addr());
    let concurrency = runtime(model.concurrency.runtime());
    let (request, state) =
        conn_request(model).unwrap_or_else(|| (runtime(model.transport.request()), None));
    // As for `shared`: a state type that cannot be one is reported once, by
    // the check below on the string that names it, and where the server is
    // used, not on every impl.
    let state_bound = state
        .as_ref()
        .map(|_| quote!(for<'__socketserver> #request: #private::Request<Addr = #addr>,));
    let yields_bound = state
        .as_ref()
        .map(|_| quote!(for<'__socketserver> #transport: #private::Yields<#request>,));
    let drives_bound = state
        .as_ref()
        .map(|_| quote!(for<'__socketserver> #concurrency: #private::Drives<#request>,));
    let state_check = state.map(|state| {
        quote! {
            const _: () = {
                impl #impl_generics #ident #ty_generics #where_clause {
                    #[allow(dead_code)]
                    fn __socketserver_conn_state() {
                        <#state as #private::ConnStateCheck>::check();
                    }
                }
            };
        }
    });
    let settings = builder_calls(model);
    let methods = std::iter::once(&HANDLER)
        .chain(HOOKS)
        .map(|method| service_method(method, ident.span()));
    // Not `Self: Send + Sync + 'static` as such: a bound without a type
    // parameter that does not hold would be an error here, on `#[server]`,
    // besides the one on the field that is to blame (see `field_checks`).
    // Under `for<'a>` it is not checked until the server is used.
    let shared = quote_spanned! {ident.span()=>
        for<'__socketserver> Self: #private::SharedState
    };
    let fields = field_checks(strukt);
    quote! {
        impl #impl_generics #private::ServerTypes for #ident #ty_generics #where_clause {
            type Request = #request;
            type Addr = #addr;
        }

        impl #impl_generics #private::Service for #ident #ty_generics
        where
            #predicates
            #state_bound
            #shared
        {
            type Request = #request;

            #(#methods)*
        }

        // The bounds are on the block, not on the methods: where they do not
        // hold, `.bind(..)` is a "method exists but its trait bounds were not
        // satisfied" error that ends there, and code after it (`?`,
        // `.serve_forever()`) is not reported as well.
        impl #impl_generics #ident #ty_generics
        where
            #predicates
            #state_bound
            #yields_bound
            #drives_bound
            #shared + #private::Service<Request = #request>,
        {
            /// A builder of this server with the settings of its `#[server]`
            /// attribute, to override some at run time before binding.
            #[allow(dead_code)]
            pub fn builder(self) -> #private::Builder<#transport, #concurrency, Self> {
                #private::Server::<#transport, #concurrency, Self>::builder(self) #settings
            }

            /// Binds this server to `addr` (for TCP and UDP a host and port,
            /// port 0 picking a free one; for the Unix transports a path) and
            /// activates it, with the settings of its `#[server]` attribute.
            #[allow(dead_code)]
            pub fn bind(
                self,
                __socketserver_addr: impl #private::BindAddr<#transport>,
            ) -> #private::io::Result<#private::Server<#transport, #concurrency, Self>> {
                Self::builder(self).bind(__socketserver_addr)
            }
        }

        #fields
        #state_check
    }
}

/// The `Service` method for the handler or a hook: it calls the method's
/// forwarder by name (see `method.rs`), which is the user's marked method when
/// there is one, and the runtime's `__private::Fallback` default otherwise.
fn service_method(method: &Method, struct_span: Span) -> TokenStream {
    let private = private();
    let name = format_ident!("{}", method.name);
    let forwarder = format_ident!("{}", method.forwarder);
    let request = quote!(Self::Request);
    let args: Vec<_> = (0..method.params.len())
        .map(|i| format_ident!("__socketserver_arg{}", i))
        .collect();
    let types = method.params.iter().map(|p| server_type(*p, &request));
    let output = return_type(method.returns);
    // The handler's call is spanned at the struct's name: a struct with no
    // `#[handle]` method is reported there.
    let call = if std::ptr::eq(method, &HANDLER) {
        quote_spanned!(struct_span=> <Self>::#forwarder(self, #(#args),*))
    } else {
        quote!(<Self>::#forwarder(self, #(#args),*))
    };
    quote! {
        fn #name(&self, #(#args: #types),*) -> #output {
            use #private::Fallback as _;
            #call
        }
    }
}

/// The request type when the handler is buffer-shaped, and the state type
/// when `conn` names one; `None`: the transport's own request type.
///
/// `Conn<T, Stream>` when `conn = "T"` is set (and applies), with `T`: the
/// type spanned on the string, so that a type the compiler does not know, or
/// one that cannot be a connection's state, is an error there. `Conn<()>`
/// without `conn` under a model that serves streams only with the buffer
/// shape (`event`), and where `conn` was written with a value that is not a
/// type, so that a handler of `&mut Conn` is not a second error.
fn conn_request(model: &Model) -> Option<(TokenStream, Option<TokenStream>)> {
    let private = private();
    let stream = match model.transport {
        Transport::Unix => quote!(#private::UnixStream),
        _ => quote!(#private::TcpStream),
    };
    let stateless = || (quote!(#private::Conn<(), #stream>), None);
    let buffer_only = model.transport.is_stream() && model.concurrency.buffer_only();
    let Some(setting) = model.config.get("conn") else {
        let written =
            model.config.written.iter().any(|(key, _)| {
                key.name == "conn" && key.applies(model.transport, model.concurrency)
            });
        return (written || buffer_only).then(stateless);
    };
    let state = setting
        .key
        .applies(model.transport, model.concurrency)
        .then_some(&setting.value)
        .and_then(|value| match value {
            Parsed::Type(text) => syn::parse_str::<syn::Type>(text).ok(),
            _ => None,
        });
    let Some(state) = state else {
        return buffer_only.then(stateless);
    };
    let state = crate::method::respan(quote!(#state), setting.span);
    Some((quote!(#private::Conn<#state, #stream>), Some(state)))
}

/// The builder calls for the keys that were set, as the key table says.
fn builder_calls(model: &Model) -> TokenStream {
    let private = private();
    let mut calls = TokenStream::new();
    for setting in &model.config.settings {
        // A key that does not apply was reported; leaving its call out keeps
        // the rest type-checking.
        if !setting.key.applies(model.transport, model.concurrency) {
            continue;
        }
        let (method, some) = match setting.key.sets {
            Sets::Method(method) => (method, false),
            Sets::MethodSome(method) => (method, true),
            Sets::Type | Sets::ConnRequest | Sets::Later => continue,
        };
        let value = match &setting.value {
            Parsed::Bool(b) => quote!(#b),
            Parsed::Int(n) => {
                let n = Literal::u64_unsuffixed(*n);
                quote!(#n)
            }
            Parsed::Nanos(n) => quote!(#private::Duration::from_nanos(#n)),
            Parsed::Transport(_) | Parsed::Concurrency(_) | Parsed::Type(_) => continue,
        };
        let value = if some {
            quote!(#private::Some(#value))
        } else {
            value
        };
        // Spanned at the key: were the runtime to lose the method, the error
        // would point at the key that calls it.
        let method = syn::Ident::new(method, setting.key_span);
        calls.extend(quote!(.#method(#value)));
    }
    calls
}

/// One check per field whose type names none of the struct's type
/// parameters: that the type can be shared between threads, spanned on the
/// field's type, so that a `Rc`, `Cell` or `RefCell` field is one error on
/// that field, with the fix. (A field of a type parameter's type is checked
/// where the server is used, with the type argument known.)
fn field_checks(strukt: &syn::ItemStruct) -> TokenStream {
    let private = private();
    let ident = &strukt.ident;
    let (impl_generics, ty_generics, where_clause) = strukt.generics.split_for_impl();
    let type_params: Vec<_> = strukt
        .generics
        .type_params()
        .map(|p| p.ident.to_string())
        .collect();
    let mut markers = Vec::new();
    let mut checks = Vec::new();
    for (index, field) in strukt.fields.iter().enumerate() {
        let ty = &field.ty;
        if names_any(ty, &type_params) {
            continue;
        }
        let span = ty.span();
        checks.push(match &field.ident {
            Some(name) => {
                // Named like the field (raw where the field is, `r#type`).
                let marker = name.clone();
                markers.push(marker.clone());
                quote_spanned! {span=>
                    <#ty as #private::SharedField<Self, __socketserver_fields::#marker>>::check();
                }
            }
            None => {
                let index = Literal::usize_unsuffixed(index);
                quote_spanned! {span=>
                    <#ty as #private::SharedTupleField<Self, #index>>::check();
                }
            }
        });
    }
    if checks.is_empty() {
        return TokenStream::new();
    }
    quote! {
        const _: () = {
            #[allow(dead_code, non_camel_case_types, unreachable_pub)]
            mod __socketserver_fields {
                #(pub(super) struct #markers;)*
            }

            impl #impl_generics #ident #ty_generics #where_clause {
                #[allow(dead_code, clippy::extra_unused_type_parameters)]
                fn __socketserver_check_fields() {
                    #(#checks)*
                }
            }
        };
    }
}

/// Whether `ty` names one of `params` (a type parameter of the struct).
fn names_any(ty: &syn::Type, params: &[String]) -> bool {
    if params.is_empty() {
        return false;
    }
    fn walk(tokens: TokenStream, params: &[String]) -> bool {
        tokens.into_iter().any(|token| match token {
            proc_macro2::TokenTree::Ident(ident) => params.iter().any(|p| ident == p),
            proc_macro2::TokenTree::Group(group) => walk(group.stream(), params),
            _ => false,
        })
    }
    walk(quote!(#ty), params)
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
            .filter_map(|item| match item {
                syn::Item::Impl(i) => i.trait_.as_ref(),
                _ => None,
            })
            .find(|(_, path, _)| path.segments.last().unwrap().ident == "Service");
        assert!(service.is_some(), "{text}");
        assert!(text.contains("Synchronous"), "{text}");
        assert!(text.contains(". backlog (5)"), "{text}");
        assert!(
            text.contains(". timeout (:: socketserver :: __private :: Some (:: socketserver :: __private :: Duration :: from_nanos (2000000000u64)))"),
            "{text}"
        );
        assert!(
            text.contains("fn builder") && text.contains("fn bind"),
            "{text}"
        );
        for method in std::iter::once(&HANDLER).chain(HOOKS) {
            assert!(text.contains(&format!("fn {} (", method.name)), "{text}");
            assert!(text.contains(method.forwarder), "{text}");
        }
        assert!(!text.contains("compile_error"), "{text}");
    }

    #[test]
    fn event_streams_take_conn_and_datagrams_keep_theirs() {
        let request = |args: TokenStream| {
            let file = expand(
                args,
                quote!(
                    struct Echo;
                ),
            );
            let text = quote!(#file).to_string();
            assert!(!text.contains("compile_error"), "{text}");
            let start = text.find("type Request =").expect("a request type");
            let end = start + text[start..].find(';').unwrap();
            text[start..end].trim_end().to_owned()
        };
        let private = ":: socketserver :: __private ::";
        assert_eq!(
            request(quote!(concurrency = "event", workers = 2)),
            format!("type Request = {private} Conn < () , {private} TcpStream >")
        );
        assert_eq!(
            request(quote!(transport = "unix", concurrency = "event")),
            format!("type Request = {private} Conn < () , {private} UnixStream >")
        );
        assert_eq!(
            request(quote!(concurrency = "event", conn = "u64")),
            format!("type Request = {private} Conn < u64 , {private} TcpStream >")
        );
        assert_eq!(
            request(quote!(transport = "udp", concurrency = "event")),
            format!("type Request = {private} UdpRequest")
        );
        assert_eq!(
            request(quote!(concurrency = "pool")),
            format!("type Request = {private} TcpRequest")
        );
        let file = expand(
            quote!(concurrency = "event", workers = 3),
            quote!(
                struct Echo;
            ),
        );
        let text = quote!(#file).to_string();
        assert!(text.contains("Builder < :: socketserver :: __private :: Tcp , :: socketserver :: __private :: Event , Self >"), "{text}");
        assert!(text.contains(". workers (3)"), "{text}");
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

    #[test]
    fn a_second_server_attribute_is_taken_off() {
        let file = expand(
            quote!(),
            quote!(
                #[server(backlog = 5)]
                struct Echo;
            ),
        );
        let text = quote!(#file).to_string();
        assert_eq!(text.matches("compile_error").count(), 1, "{text}");
        assert!(text.contains("written twice"), "{text}");
        let syn::Item::Struct(strukt) = &file.items[0] else {
            panic!("{text}")
        };
        assert!(strukt.attrs.is_empty(), "{text}");
    }

    #[test]
    fn fields_of_known_types_are_checked_and_generic_ones_left() {
        let file = expand(
            quote!(),
            quote!(
                struct Echo<T> {
                    count: Rc<u8>,
                    value: T,
                    list: Vec<T>,
                }
            ),
        );
        let text = quote!(#file).to_string();
        assert!(text.contains("< Rc < u8 > as"), "{text}");
        assert_eq!(text.matches("SharedField <").count(), 1, "{text}");
        assert!(text.contains("struct count"), "{text}");
    }
}
