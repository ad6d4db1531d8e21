//! `#[handle]` and `#[hook]`: check a method's signature against the shape it
//! must have, keep the method, and add a hidden forwarder with a well-known
//! name that the code of `#[server]` calls.

use crate::diag::{Errors, list, private};
use crate::suggest::did_you_mean;
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, GenericParam, ImplItemFn, ReturnType, Type};

/// The name `#[server]` calls the handler by; see `__private::Fallback`. It is
/// worded for the error a second `#[handle]` gives: two definitions of it.
const HANDLE_FORWARDER: &str = "only_one_method_may_be_marked_handle";

const HANDLE_SIGNATURE: &str = "fn handle(&self, req: &mut StreamRequest) -> io::Result<()>";

/// What one parameter after `&self` must look like.
#[derive(Clone, Copy)]
enum Param {
    /// `&mut SomeRequest`.
    Request,
    /// `&T` (an address, an error).
    Shared,
}

/// What a handler or hook returns.
#[derive(Clone, Copy)]
enum Returns {
    IoResult,
    Bool,
    Nothing,
}

impl Returns {
    /// As the user writes it.
    fn written(self) -> &'static str {
        match self {
            Returns::IoResult => "io::Result<()>",
            Returns::Bool => "bool",
            Returns::Nothing => "()",
        }
    }

    /// As the forwarder declares it, by absolute path.
    fn tokens(self) -> TokenStream {
        let private = private();
        match self {
            Returns::IoResult => quote!(#private::io::Result<()>),
            Returns::Bool => quote!(::core::primitive::bool),
            Returns::Nothing => quote!(()),
        }
    }
}

/// The shape a handler or hook method must have.
struct Shape {
    name: &'static str,
    params: &'static [Param],
    returns: Returns,
    /// The signature to show when it is written wrong.
    signature: &'static str,
}

const HOOKS: &[Shape] = &[
    Shape {
        name: "setup",
        params: &[Param::Request],
        returns: Returns::IoResult,
        signature: "fn setup(&self, req: &mut StreamRequest) -> io::Result<()>",
    },
    Shape {
        name: "finish",
        params: &[Param::Request],
        returns: Returns::IoResult,
        signature: "fn finish(&self, req: &mut StreamRequest) -> io::Result<()>",
    },
    Shape {
        name: "verify_request",
        params: &[Param::Shared],
        returns: Returns::Bool,
        signature: "fn verify_request(&self, client_address: &SocketAddr) -> bool",
    },
    Shape {
        name: "handle_error",
        params: &[Param::Shared, Param::Shared],
        returns: Returns::Nothing,
        signature: "fn handle_error(&self, client_address: &SocketAddr, error: &RequestError)",
    },
    Shape {
        name: "handle_timeout",
        params: &[],
        returns: Returns::Nothing,
        signature: "fn handle_timeout(&self)",
    },
    Shape {
        name: "service_actions",
        params: &[],
        returns: Returns::Nothing,
        signature: "fn service_actions(&self)",
    },
];

const HANDLE: Shape = Shape {
    name: "handle",
    params: &[Param::Request],
    returns: Returns::IoResult,
    signature: HANDLE_SIGNATURE,
};

pub(crate) fn handle(args: TokenStream, input: TokenStream) -> TokenStream {
    expand("handle", args, input, |method, errors| {
        let what = "a `#[handle]` method";
        if let Some(ty) = check(&method.sig, &HANDLE, what, errors).first() {
            check_request_type(ty, errors);
        }
        (HANDLE_FORWARDER.to_owned(), HANDLE.returns)
    })
}

pub(crate) fn hook(args: TokenStream, input: TokenStream) -> TokenStream {
    expand("hook", args, input, |method, errors| {
        let name = method.sig.ident.to_string();
        let ident = &method.sig.ident;
        let Some(shape) = HOOKS.iter().find(|h| h.name == name) else {
            let names: Vec<_> = HOOKS.iter().map(|h| h.name).collect();
            let message = if name == "handle" {
                "the handler is marked `#[handle]`, not `#[hook]`".to_owned()
            } else {
                let hint = match did_you_mean(&name, &names) {
                    Some(near) => format!(" (did you mean `{near}`?)"),
                    None => String::new(),
                };
                format!(
                    "`{name}` is not a hook{hint}: a `#[hook]` method is named for the hook \
                     it replaces, one of {}",
                    list(&names)
                )
            };
            errors.add(ident.span(), message);
            // No forwarder: the default of every hook stays.
            return (String::new(), Returns::Nothing);
        };
        let what = format!("the `{}` hook", shape.name);
        check(&method.sig, shape, &what, errors);
        (format!("__socketserver_hook_{name}"), shape.returns)
    })
}

/// What both attributes do: refuse arguments, parse the method, check it with
/// `check` (which names the forwarder and says what it returns), and emit the
/// method, the forwarder, and the errors.
fn expand(
    attr: &str,
    args: TokenStream,
    input: TokenStream,
    check: impl FnOnce(&ImplItemFn, &mut Errors) -> (String, Returns),
) -> TokenStream {
    let mut errors = Errors::default();
    if !args.is_empty() {
        errors.add_spanned(&args, format!("`#[{attr}]` takes no arguments"));
    }
    let method: ImplItemFn = match syn::parse2(input.clone()) {
        Ok(method) => method,
        Err(_) => {
            errors.add_spanned(
                &input,
                format!(
                    "`#[{attr}]` goes on a method in an `impl` block of the `#[server]` struct"
                ),
            );
            let errors = errors.finish().err().map(|e| e.to_compile_error());
            return quote!(#input #errors);
        }
    };
    let (name, returns) = check(&method, &mut errors);
    let extra = match errors.finish() {
        Ok(()) => forwarder(&method, &name, returns),
        Err(e) => {
            let errors = e.to_compile_error();
            // For a broken handler, a stand-in that fits any server (and is
            // valid even outside an `impl` block), so that the error above is
            // all the user sees, not a second one about a missing handler.
            let stand_in = (name == HANDLE_FORWARDER).then(|| {
                let name = format_ident!("{}", HANDLE_FORWARDER);
                let private = private();
                quote! {
                    #[doc(hidden)]
                    #[allow(dead_code)]
                    pub(crate) fn #name<__SocketserverSelf: ?::core::marker::Sized, __SocketserverRequest>(
                        _: &__SocketserverSelf,
                        _: &mut __SocketserverRequest,
                    ) -> #private::io::Result<()> {
                        #private::Ok(())
                    }
                }
            });
            quote!(#errors #stand_in)
        }
    };
    quote!(#method #extra)
}

/// Checks `sig` against `shape`: a plain `fn` (lifetime parameters allowed)
/// taking `&self`, then the shape's parameters, returning what it returns.
/// Returns the types behind the parameters' references, when they fit.
fn check<'a>(
    sig: &'a syn::Signature,
    shape: &Shape,
    what: &str,
    errors: &mut Errors,
) -> Vec<&'a Type> {
    let expected = shape.signature;
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
    for param in &sig.generics.params {
        if !matches!(param, GenericParam::Lifetime(_)) {
            errors.add_spanned(
                param,
                format!("{what} cannot have type or const parameters: write `{expected}`"),
            );
        }
    }
    check_receiver(sig, what, expected, errors);
    let params = check_params(sig, shape.params, what, expected, errors);
    match (&sig.output, shape.returns) {
        (ReturnType::Default, Returns::Nothing)
        | (ReturnType::Type(..), Returns::IoResult | Returns::Bool) => {}
        (ReturnType::Default, returns) => errors.add(
            sig.paren_token.span.close(),
            format!("{what} must return `{}`: `{expected}`", returns.written()),
        ),
        (ReturnType::Type(arrow, ty), Returns::Nothing) => errors.add_spanned(
            quote!(#arrow #ty),
            format!("{what} returns nothing: `{expected}`"),
        ),
    }
    params
}

/// `&self`, or `self: &Self` written out.
fn check_receiver(sig: &syn::Signature, what: &str, expected: &str, errors: &mut Errors) {
    match sig.inputs.first() {
        Some(FnArg::Receiver(receiver)) => {
            let shared = match &receiver.colon_token {
                None => receiver.reference.is_some() && receiver.mutability.is_none(),
                Some(_) => is_ref_self(&receiver.ty),
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
        }
    }
}

/// `&Self` (or `&'a Self`).
fn is_ref_self(ty: &Type) -> bool {
    let Type::Reference(r) = ty else {
        return false;
    };
    let Type::Path(path) = &*r.elem else {
        return false;
    };
    r.mutability.is_none() && path.qself.is_none() && path.path.is_ident("Self")
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
        let count = match params.len() {
            0 => "no parameters".to_owned(),
            1 => "one parameter".to_owned(),
            n => format!("{n} parameters"),
        };
        let message = format!("{what} takes {count} after `&self`: `{expected}`");
        match given.get(params.len()) {
            Some(extra) => errors.add_spanned(extra, message),
            None => errors.add(sig.paren_token.span.join(), message),
        }
        return Vec::new();
    }
    let mut types = Vec::new();
    for (typed, param) in given.iter().zip(params) {
        match (&*typed.ty, param) {
            (Type::Reference(r), Param::Request) if r.mutability.is_some() => types.push(&*r.elem),
            (Type::Reference(r), Param::Shared) if r.mutability.is_none() => types.push(&*r.elem),
            _ => {
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
    }
    types
}

/// The handler's request type must be one the runtime has. A path (such as
/// `StreamRequest` or an alias of it) is left to the compiler, which checks it
/// against the server's request type.
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
/// finds by name. It takes the user's own receiver, lifetimes and parameter
/// types (the compiler checks them against the server's where the server
/// calls), and returns what the server expects; the call carries the span of
/// the user's return type, so that a return type that does not fit is
/// reported there. `pub(crate)`, so that `#[server]` finds it whichever module
/// of the crate the `impl` block is in.
fn forwarder(method: &ImplItemFn, name: &str, returns: Returns) -> TokenStream {
    if name.is_empty() {
        return TokenStream::new();
    }
    let sig = &method.sig;
    let user = &sig.ident;
    // Named at the user's method: notes ("defined here", "other definition")
    // point there, at code the user wrote.
    let name = syn::Ident::new(name, user.span());
    let generics = &sig.generics;
    let where_clause = &sig.generics.where_clause;
    let mut receiver = None;
    let mut params = Vec::new();
    let mut args = Vec::new();
    for (i, arg) in sig.inputs.iter().enumerate() {
        match arg {
            FnArg::Receiver(r) => {
                let (attrs, reference, mutability) = (&r.attrs, &r.reference, &r.mutability);
                let reference = reference
                    .as_ref()
                    .map(|(and, lifetime)| quote!(#and #lifetime));
                receiver = Some(match &r.colon_token {
                    None => quote!(#(#attrs)* #reference #mutability self),
                    Some(colon) => {
                        let ty = &r.ty;
                        quote!(self #colon #ty)
                    }
                });
            }
            FnArg::Typed(typed) => {
                // Reserved-looking names cannot be shadowed by the user's
                // constants or unit structs.
                let arg = format_ident!("__socketserver_arg{}", i);
                let ty = &typed.ty;
                params.push(quote!(#arg: #ty));
                args.push(arg);
            }
        }
    }
    let output = returns.tokens();
    let return_span = match &sig.output {
        ReturnType::Type(_, ty) => ty.span(),
        ReturnType::Default => sig.ident.span(),
    };
    let call = quote_spanned! {return_span=> Self::#user(self, #(#args),*) };
    quote! {
        #[doc(hidden)]
        #[allow(dead_code, clippy::needless_lifetimes)]
        #[inline]
        pub(crate) fn #name #generics (#receiver, #(#params),*) -> #output #where_clause {
            #call
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors_of(attr: fn(TokenStream, TokenStream) -> TokenStream, method: TokenStream) -> String {
        attr(TokenStream::new(), method).to_string()
    }

    #[test]
    fn a_good_handler_gets_its_forwarder() {
        let out = errors_of(
            handle,
            quote!(
                fn serve<'a>(&'a self, req: &'a mut StreamRequest) -> io::Result<()> {
                    Ok(())
                }
            ),
        );
        assert!(
            out.contains("pub (crate) fn only_one_method_may_be_marked_handle < 'a >"),
            "{out}"
        );
        assert!(
            out.contains("Self :: serve (self , __socketserver_arg1)"),
            "{out}"
        );
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn a_wrong_receiver_says_to_take_a_shared_self() {
        let out = errors_of(
            handle,
            quote!(
                fn h(&mut self, r: &mut StreamRequest) -> io::Result<()> {
                    Ok(())
                }
            ),
        );
        assert!(out.contains("takes `&self`"), "{out}");
        let boxed = errors_of(
            handle,
            quote!(
                fn h(self: &Box<Self>, r: &mut StreamRequest) -> io::Result<()> {
                    Ok(())
                }
            ),
        );
        assert!(boxed.contains("takes `&self`"), "{boxed}");
        let typed = errors_of(
            handle,
            quote!(
                fn h(self: &Self, r: &mut StreamRequest) -> io::Result<()> {
                    Ok(())
                }
            ),
        );
        assert!(!typed.contains("compile_error"), "{typed}");
    }

    #[test]
    fn a_handler_without_self_gets_one_error_and_a_stand_in() {
        let out = errors_of(
            handle,
            quote!(
                fn h(r: &mut StreamRequest) -> io::Result<()> {
                    Ok(())
                }
            ),
        );
        assert_eq!(out.matches("compile_error").count(), 1, "{out}");
        assert!(out.contains("__SocketserverSelf"), "{out}");
    }

    #[test]
    fn hooks_are_checked_against_their_shape() {
        let out = errors_of(
            hook,
            quote!(
                fn verify_request(&self, a: &SocketAddr) {}
            ),
        );
        assert!(out.contains("must return `bool`"), "{out}");
        let out = errors_of(
            hook,
            quote!(
                fn handle_timeout(&self) -> bool {
                    true
                }
            ),
        );
        assert!(out.contains("returns nothing"), "{out}");
        let out = errors_of(
            hook,
            quote!(
                fn setup(&self, r: &StreamRequest) -> io::Result<()> {
                    Ok(())
                }
            ),
        );
        assert!(out.contains("by mutable reference"), "{out}");
        let out = errors_of(
            hook,
            quote!(
                fn verify(&self, a: &SocketAddr) -> bool {
                    true
                }
            ),
        );
        assert!(out.contains("did you mean `verify_request`?"), "{out}");
        let out = errors_of(
            hook,
            quote!(
                fn handle(&self, r: &mut StreamRequest) -> io::Result<()> {
                    Ok(())
                }
            ),
        );
        assert!(out.contains("marked `#[handle]`, not `#[hook]`"), "{out}");
    }
}
