//! `#[handle]` and `#[hook]`: check a method's signature against the shape it
//! must have, keep the method, and add a hidden forwarder with a well-known
//! name that the code of `#[server]` calls.

use crate::attr::{Errors, list};
use crate::suggest::did_you_mean;
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, ImplItemFn, ReturnType, Type};

/// The name `#[server]` calls the handler by; see `__private::Fallback`. It is
/// worded for the error a second `#[handle]` gives: two definitions of it.
const HANDLE_FORWARDER: &str = "only_one_method_may_be_marked_handle";

/// What one parameter after `&self` must look like.
#[derive(Clone, Copy)]
enum Param {
    /// `&mut SomeRequest`.
    Request,
    /// `&T` (an address, an error).
    Shared,
}

/// What a hook's method looks like.
struct HookShape {
    name: &'static str,
    params: &'static [Param],
    /// What it must return, as the user writes it; `None`: nothing.
    returns: Option<&'static str>,
    /// The signature to show when it is written wrong.
    signature: &'static str,
}

const HOOKS: &[HookShape] = &[
    HookShape {
        name: "setup",
        params: &[Param::Request],
        returns: Some("io::Result<()>"),
        signature: "fn setup(&self, req: &mut StreamRequest) -> io::Result<()>",
    },
    HookShape {
        name: "finish",
        params: &[Param::Request],
        returns: Some("io::Result<()>"),
        signature: "fn finish(&self, req: &mut StreamRequest) -> io::Result<()>",
    },
    HookShape {
        name: "verify_request",
        params: &[Param::Shared],
        returns: Some("bool"),
        signature: "fn verify_request(&self, client_address: &SocketAddr) -> bool",
    },
    HookShape {
        name: "handle_error",
        params: &[Param::Shared, Param::Shared],
        returns: None,
        signature: "fn handle_error(&self, client_address: &SocketAddr, error: &RequestError)",
    },
    HookShape {
        name: "handle_timeout",
        params: &[],
        returns: None,
        signature: "fn handle_timeout(&self)",
    },
    HookShape {
        name: "service_actions",
        params: &[],
        returns: None,
        signature: "fn service_actions(&self)",
    },
];

const HANDLE_SIGNATURE: &str = "fn handle(&self, req: &mut StreamRequest) -> io::Result<()>";

pub(crate) fn handle(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    no_arguments(args, "handle", &mut errors);
    let method = match parse_method(input.clone(), "#[handle]") {
        Ok(method) => method,
        Err(e) => {
            return quote!(#input)
                .into_iter()
                .chain(e.to_compile_error())
                .collect();
        }
    };
    let sig = &method.sig;
    let what = "a `#[handle]` method";
    let has_receiver = check_common(sig, what, HANDLE_SIGNATURE, &mut errors);
    let params = check_params(sig, &[Param::Request], what, HANDLE_SIGNATURE, &mut errors);
    if let Some(ty) = params.first() {
        check_request_type(ty, &mut errors);
    }
    if let ReturnType::Default = sig.output {
        errors.add(
            sig.paren_token.span.close(),
            format!("{what} must return `io::Result<()>`: `{HANDLE_SIGNATURE}`"),
        );
    }
    let forwarder = match errors.finish() {
        Ok(()) => forwarder(&method, HANDLE_FORWARDER, io_result()),
        // Without `self` this is no method (or not one we can call): the error
        // above is all there is to say.
        Err(e) if !has_receiver => e.to_compile_error(),
        Err(e) => {
            // A stand-in that fits any server, so that the one error above is
            // all the user sees, not a second one about a missing handler.
            let errors = e.to_compile_error();
            let name = format_ident!("{}", HANDLE_FORWARDER);
            quote! {
                #errors
                #[doc(hidden)]
                #[allow(dead_code)]
                fn #name<R>(&self, _: &mut R) -> ::socketserver::__private::io::Result<()> {
                    ::socketserver::__private::Ok(())
                }
            }
        }
    };
    quote!(#method #forwarder)
}

fn io_result() -> TokenStream {
    quote!(::socketserver::__private::io::Result<()>)
}

pub(crate) fn hook(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    no_arguments(args, "hook", &mut errors);
    let method = match parse_method(input.clone(), "#[hook]") {
        Ok(method) => method,
        Err(e) => {
            return quote!(#input)
                .into_iter()
                .chain(e.to_compile_error())
                .collect();
        }
    };
    let sig = &method.sig;
    let name = sig.ident.to_string();
    let Some(shape) = HOOKS.iter().find(|h| h.name == name) else {
        let names: Vec<_> = HOOKS.iter().map(|h| h.name).collect();
        let hint = match did_you_mean(&name, &names) {
            Some(near) => format!("did you mean `{near}`? "),
            None => String::new(),
        };
        errors.add(
            sig.ident.span(),
            format!(
                "`{name}` is not a hook: {hint}a `#[hook]` method is named for the hook it \
                 replaces, one of {}",
                list(&names)
            ),
        );
        return with(method, errors);
    };
    let what = format!("the `{}` hook", shape.name);
    check_common(sig, &what, shape.signature, &mut errors);
    check_params(sig, shape.params, &what, shape.signature, &mut errors);
    match (&sig.output, shape.returns) {
        (ReturnType::Default, Some(returns)) => errors.add(
            sig.paren_token.span.close(),
            format!("{what} must return `{returns}`: `{}`", shape.signature),
        ),
        (ReturnType::Type(arrow, ty), None) => errors.add_spanned(
            quote!(#arrow #ty),
            format!("{what} returns nothing: `{}`", shape.signature),
        ),
        _ => {}
    }
    let output = match shape.returns {
        Some("bool") => quote!(::core::primitive::bool),
        Some(_) => io_result(),
        None => quote!(()),
    };
    let forwarder = match errors.finish() {
        Ok(()) => forwarder(&method, &format!("__socketserver_hook_{name}"), output),
        Err(e) => e.to_compile_error(),
    };
    quote!(#method #forwarder)
}

fn with(method: ImplItemFn, errors: Errors) -> TokenStream {
    let errors = errors.finish().err().map(|e| e.to_compile_error());
    quote!(#method #errors)
}

fn no_arguments(args: TokenStream, attr: &str, errors: &mut Errors) {
    if !args.is_empty() {
        errors.add(args.span(), format!("`#[{attr}]` takes no arguments"));
    }
}

fn parse_method(input: TokenStream, attr: &str) -> syn::Result<ImplItemFn> {
    syn::parse2(input.clone()).map_err(|_| {
        syn::Error::new(
            input.span(),
            format!("`{attr}` goes on a method in an `impl` block of the `#[server]` struct"),
        )
    })
}

/// What every handler and hook has in common: a plain `fn` taking `&self`.
/// Returns whether it has a `self` parameter at all.
fn check_common(sig: &syn::Signature, what: &str, expected: &str, errors: &mut Errors) -> bool {
    if let Some(token) = &sig.asyncness {
        errors.add(
            token.span,
            format!(
                "{what} cannot be `async`: handlers run on blocking threads; write `{expected}`"
            ),
        );
    }
    if let Some(token) = &sig.unsafety {
        errors.add(
            token.span,
            format!("{what} cannot be `unsafe`: write `{expected}`"),
        );
    }
    if !sig.generics.params.is_empty() {
        errors.add_spanned(
            &sig.generics,
            format!("{what} cannot have generic parameters: write `{expected}`"),
        );
    }
    match sig.inputs.first() {
        Some(FnArg::Receiver(receiver)) => {
            // `&self`, or `self: &Self` written out.
            let shared = match &receiver.colon_token {
                None => receiver.reference.is_some() && receiver.mutability.is_none(),
                Some(_) => matches!(&*receiver.ty, Type::Reference(r) if r.mutability.is_none()),
            };
            if !shared {
                errors.add_spanned(
                    receiver,
                    format!(
                        "{what} takes `&self`: one value of the struct is shared by every \
                         request; write `{expected}` (keep mutable state behind a `Mutex` or \
                         an atomic)"
                    ),
                );
            }
            true
        }
        other => {
            let message = format!(
                "{what} takes `&self` first (it goes on a method of the `#[server]` struct): \
                 `{expected}`"
            );
            match other {
                Some(arg) => errors.add_spanned(arg, message),
                None => errors.add(sig.paren_token.span.join(), message),
            }
            false
        }
    }
}

/// Checks the parameters after `&self`; returns their types when they fit.
fn check_params<'a>(
    sig: &'a syn::Signature,
    params: &[Param],
    what: &str,
    expected: &str,
    errors: &mut Errors,
) -> Vec<&'a Type> {
    let given: Vec<_> = sig
        .inputs
        .iter()
        .filter_map(|arg| match arg {
            FnArg::Typed(typed) => Some(typed),
            FnArg::Receiver(_) => None,
        })
        .collect();
    if given.len() != params.len() {
        let span = given
            .get(params.len())
            .map_or(sig.paren_token.span.join(), |extra| {
                let extra = quote!(#extra);
                extra.span()
            });
        let count = match params.len() {
            0 => "no parameters".to_owned(),
            1 => "one parameter".to_owned(),
            n => format!("{n} parameters"),
        };
        errors.add(
            span,
            format!("{what} takes {count} after `&self`: `{expected}`"),
        );
        return Vec::new();
    }
    let mut types = Vec::new();
    for (typed, param) in given.iter().zip(params) {
        let fits = match (&*typed.ty, param) {
            (Type::Reference(r), Param::Request) => r.mutability.is_some(),
            (Type::Reference(r), Param::Shared) => r.mutability.is_none(),
            _ => false,
        };
        if fits {
            if let Type::Reference(r) = &*typed.ty {
                types.push(&*r.elem);
            }
        } else {
            let how = match param {
                Param::Request => "by mutable reference (`&mut`)",
                Param::Shared => "by shared reference (`&`)",
            };
            errors.add_spanned(
                &typed.ty,
                format!("{what} takes this parameter {how}: `{expected}`"),
            );
        }
    }
    types
}

/// The handler's request type must be one the runtime has. A path (such as
/// `StreamRequest` or an alias of it) is left to the compiler, which checks it
/// against the server's request type on the user's tokens.
fn check_request_type(ty: &Type, errors: &mut Errors) {
    let Type::Path(path) = ty else {
        errors.add_spanned(
            ty,
            format!(
                "a `#[handle]` method takes the request as `&mut StreamRequest` (the shape of \
                 a stream server's handler): `{HANDLE_SIGNATURE}`"
            ),
        );
        return;
    };
    let last = path.path.segments.last().map(|s| s.ident.to_string());
    if let Some(kind @ ("DatagramRequest" | "Conn")) = last.as_deref() {
        errors.add_spanned(
            ty,
            format!(
                "`{kind}` handlers are not available yet in this version of socketserver; \
                 a TCP server's handler takes `&mut StreamRequest`"
            ),
        );
    }
}

/// A hidden method named `name` that calls the user's method: what `#[server]`
/// finds by name. It takes the user's own parameter types (the compiler checks
/// them against the server's where it calls) and returns `output`, what the
/// server expects; the call carries the span of the user's return type, so a
/// return type that does not fit is reported there.
fn forwarder(method: &ImplItemFn, name: &str, output: TokenStream) -> TokenStream {
    let sig = &method.sig;
    let user = &sig.ident;
    // Named at the user's method: notes ("defined here", "other definition")
    // point there, at code the user wrote.
    let name = syn::Ident::new(name, user.span());
    let mut params = Vec::new();
    let mut args = Vec::new();
    for (i, arg) in sig.inputs.iter().enumerate() {
        if let FnArg::Typed(typed) = arg {
            let arg = format_ident!("arg{}", i);
            let ty = &typed.ty;
            params.push(quote!(#arg: #ty));
            args.push(arg);
        }
    }
    let return_span = match &sig.output {
        ReturnType::Type(_, ty) => ty.span(),
        ReturnType::Default => sig.ident.span(),
    };
    let call = quote_spanned! {return_span=> Self::#user(self, #(#args),*) };
    quote! {
        #[doc(hidden)]
        #[allow(dead_code)]
        #[inline]
        fn #name(&self, #(#params),*) -> #output {
            #call
        }
    }
}
