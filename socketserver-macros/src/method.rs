//! `#[handle]` and `#[hook]`: check a method's signature against the shape the
//! table (`table.rs`) gives it, keep the method as written, and add a hidden
//! forwarder with a well-known name that the code of `#[server]` calls.
//!
//! What can be judged from the tokens (a receiver, the number of parameters,
//! `&` or `&mut`, a missing return type) is an error of this macro. What needs
//! types (is this the server's request type? is this `io::Result<()>`?) is left
//! to the compiler, one bound per parameter and one for the return type, each
//! spanned on the user's own tokens, as axum's `debug_handler` does: a wrong
//! type is reported where it was written, with the type to write.

use crate::diag::{Errors, list, private, reference, return_type, server_elem, span_range};
use crate::suggest::did_you_mean;
use crate::table::{HANDLER, HOOKS, Method, Param, Returns};
use proc_macro2::{Delimiter, Group, Span, TokenStream, TokenTree};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::{FnArg, GenericParam, ImplItemFn, ReturnType, Type};

/// Which attribute.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Attr {
    Handle,
    Hook,
}

impl Attr {
    fn name(self) -> &'static str {
        match self {
            Attr::Handle => "handle",
            Attr::Hook => "hook",
        }
    }
}

pub(crate) fn handle(args: TokenStream, input: TokenStream) -> TokenStream {
    expand(Attr::Handle, args, input)
}

pub(crate) fn hook(args: TokenStream, input: TokenStream) -> TokenStream {
    expand(Attr::Hook, args, input)
}

/// What both attributes do: refuse arguments, parse the method, find its
/// shape, check it, and emit the method, the forwarder, and the errors.
fn expand(attr: Attr, args: TokenStream, input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    if !args.is_empty() {
        errors.add_spanned(&args, format!("`#[{}]` takes no arguments", attr.name()));
    }
    let method: ImplItemFn = match syn::parse2(input.clone()) {
        Ok(method) => method,
        Err(_) => return misplaced(attr, input, errors),
    };
    let shape = match attr {
        Attr::Handle => Some(&HANDLER),
        Attr::Hook => find_hook(&method.sig.ident, &mut errors),
    };
    let types = shape.map(|shape| check(&method.sig, attr, shape, &mut errors));
    let extra = match (shape, types) {
        (Some(shape), Some(types)) if !errors.any() => forwarder(&method, shape, &types),
        // A broken handler gets a stand-in, so that its error is all the
        // user sees, not a second one about a missing handler. A broken hook
        // gets nothing: its default stays.
        _ if attr == Attr::Handle => stand_in(),
        _ => TokenStream::new(),
    };
    errors.emit(quote!(#method #extra))
}

/// The hook named like `ident`, or an error that says which names are hooks.
fn find_hook(ident: &syn::Ident, errors: &mut Errors) -> Option<&'static Method> {
    let name = ident.to_string();
    if let Some(hook) = HOOKS.iter().find(|h| h.name == name) {
        return Some(hook);
    }
    let names: Vec<_> = HOOKS.iter().map(|h| h.name).collect();
    let message = if name == HANDLER.name {
        "the handler is marked `#[handle]`, not `#[hook]`".to_owned()
    } else {
        let hint = match did_you_mean(&name, &names) {
            Some(near) => format!(" (did you mean `{near}`?)"),
            None => String::new(),
        };
        format!(
            "`{name}` is not a hook{hint}: a `#[hook]` method is named for the hook it \
             replaces, one of {}",
            list(&names)
        )
    };
    errors.add(ident.span(), message);
    None
}

/// The attribute on something other than a method: one error, on the
/// attribute. On an `impl` block or a struct, `#[handle]` leaves a stand-in
/// handler, so that the struct is not also reported as having none.
fn misplaced(attr: Attr, input: TokenStream, mut errors: Errors) -> TokenStream {
    let at = Span::call_site();
    let name = attr.name();
    let item: Option<syn::Item> = syn::parse2(input.clone()).ok();
    match item {
        Some(syn::Item::Impl(mut block)) if block.trait_.is_none() => {
            let fns: Vec<String> = block
                .items
                .iter()
                .filter_map(|item| match item {
                    syn::ImplItem::Fn(f) => Some(f.sig.ident.to_string()),
                    _ => None,
                })
                .collect();
            let wanted: Vec<String> = match attr {
                Attr::Handle => fns
                    .iter()
                    .filter(|f| *f == HANDLER.name)
                    .map(|f| format!("`fn {f}`"))
                    .collect(),
                Attr::Hook => fns
                    .iter()
                    .filter(|f| HOOKS.iter().any(|h| h.name == *f))
                    .map(|f| format!("`fn {f}`"))
                    .collect(),
            };
            let what = match attr {
                Attr::Handle => "the method that serves each request",
                Attr::Hook => "each method that replaces a hook",
            };
            let put = match wanted.as_slice() {
                [] => format!("put it on {what}"),
                _ => format!("put it above {}", crate::diag::join(wanted)),
            };
            errors.add(
                at,
                format!("`#[{name}]` goes on {what}, not on an `impl` block: {put}"),
            );
            if attr == Attr::Handle {
                let stand_in = stand_in();
                block.items.push(syn::ImplItem::Verbatim(stand_in));
            }
            errors.emit(block)
        }
        Some(syn::Item::Struct(strukt)) => {
            errors.add(
                at,
                format!(
                    "`#[{name}]` goes on a method in an `impl` block of the `#[server]` \
                     struct, not on the struct"
                ),
            );
            let stand_in = (attr == Attr::Handle).then(|| {
                let ident = &strukt.ident;
                let (impl_generics, ty_generics, where_clause) = strukt.generics.split_for_impl();
                let stand_in = stand_in();
                quote! {
                    impl #impl_generics #ident #ty_generics #where_clause {
                        #stand_in
                    }
                }
            });
            errors.emit(quote!(#strukt #stand_in))
        }
        _ => {
            errors.add(
                at,
                format!(
                    "`#[{name}]` goes on a method in an `impl` block of the `#[server]` struct"
                ),
            );
            errors.emit(input)
        }
    }
}

/// A handler that fits any server, for a struct whose handler is broken or
/// misplaced; valid even outside an `impl` block.
fn stand_in() -> TokenStream {
    let name = format_ident!("{}", HANDLER.forwarder);
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
}

/// Checks `sig` against `shape`: a plain `fn` (lifetime parameters allowed)
/// taking `&self`, then the shape's parameters, returning what it returns.
/// Returns the parameters' types, when they fit.
fn check<'a>(
    sig: &'a syn::Signature,
    attr: Attr,
    shape: &Method,
    errors: &mut Errors,
) -> Vec<&'a Type> {
    let what = match attr {
        Attr::Handle => "a `#[handle]` method".to_owned(),
        Attr::Hook => format!("the `{}` hook", shape.name),
    };
    let what = what.as_str();
    let expected = shape.signature();
    let expected = expected.as_str();
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
    if let ReturnType::Type(_, ty) = &sig.output
        && has_impl_trait(ty)
    {
        errors.add_spanned(
            ty,
            format!("{what} returns a type it names, not `impl Trait`: `{expected}`"),
        );
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

/// Whether `ty` has an `impl Trait` in it.
fn has_impl_trait(ty: &Type) -> bool {
    fn walk(tokens: TokenStream) -> bool {
        tokens.into_iter().any(|token| match token {
            TokenTree::Ident(ident) => ident == "impl",
            TokenTree::Group(group) => walk(group.stream()),
            _ => false,
        })
    }
    walk(ty.to_token_stream())
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
        match &*typed.ty {
            Type::Reference(r) if r.mutability.is_some() == param.mutable() => {
                if has_impl_trait(&r.elem) {
                    errors.add_spanned(
                        &typed.ty,
                        format!(
                            "{what} takes a type it names here, not `impl Trait`: `{expected}`"
                        ),
                    );
                }
                types.push(&*typed.ty);
            }
            _ => {
                let how = if param.mutable() {
                    "by mutable reference (`&mut`)"
                } else {
                    "by shared reference (`&`)"
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

/// The hidden method that `#[server]` calls by the name `shape.forwarder`.
///
/// It declares the server's own types (the request type comes from the
/// `#[server]` struct's `__private::ServerTypes` implementation, which has no
/// bounds of its own, so that it holds in any `impl` block of the struct,
/// whatever its lifetimes and type parameters), and passes each argument to
/// the user's method through a bound spanned on the user's type for it, and
/// the result back through one spanned on the user's return type. A type that
/// does not fit is one error there, saying what to write. `pub(crate)`, so
/// that `#[server]` finds it whichever module the `impl` block is in.
fn forwarder(method: &ImplItemFn, shape: &Method, types: &[&Type]) -> TokenStream {
    let private = private();
    let sig = &method.sig;
    // Named at the user's method: notes ("other definition") point there.
    let name = syn::Ident::new(shape.forwarder, sig.ident.span());
    let request = quote!(<Self as #private::ServerTypes>::Request);
    let mut params = Vec::new();
    let mut casts = Vec::new();
    for (i, (param, written)) in shape.params.iter().zip(types).enumerate() {
        let arg = format_ident!("__socketserver_arg{}", i);
        // The server's type for the parameter, spanned on the user's type for
        // it. In the cast, from its start to its end, which the compiler
        // underlines where the types differ. In the signature, at its start,
        // where the cast's `Self` is: where the struct has no `#[server]`, the
        // two errors that `Self: ServerTypes` does not hold are then the same
        // error, which the compiler shows once.
        let (start, end) = span_range(written);
        // The address type is the server's own (`ServerTypes::Addr`), not the
        // request's: a request type that is not one is reported once, where
        // `conn` names it, not again on each hook that takes the address.
        let server = match param {
            Param::ClientAddress => quote!(<Self as #private::ServerTypes>::Addr),
            _ => server_elem(*param, &request),
        };
        let declared = respan(reference(*param, &server), start);
        params.push(quote!(#arg: #declared));
        casts.push(cast(*param, respan_type(server, start, end), &arg));
    }
    let user = &sig.ident;
    let output = return_type(shape.returns);
    let body = match (&sig.output, shape.returns) {
        (ReturnType::Type(_, ty), Returns::IoResult | Returns::Bool) => {
            // The call itself is spanned on the return type: it is the value
            // whose type is judged.
            let (start, end) = span_range(ty);
            let mut user = user.clone();
            user.set_span(start);
            let mut args = Group::new(Delimiter::Parenthesis, quote!(self, #(#casts),*));
            args.set_span(end);
            let check = match shape.returns {
                Returns::Bool => "BoolReturn",
                _ => "IoResultReturn",
            };
            let check = format_ident!("{}", check);
            let call = quote_spanned!(start=> Self::#user #args);
            let head = respan(quote!(#private::#check::), start);
            let convert = syn::Ident::new("into_return", end);
            quote!(#head #convert(#call))
        }
        _ => quote!(Self::#user(self, #(#casts),*)),
    };
    quote! {
        #[doc(hidden)]
        #[allow(dead_code)]
        #[inline]
        pub(crate) fn #name(&self, #(#params),*) -> #output {
            #body
        }
    }
}

/// `arg` as the user's method takes it: `<Server as Check<_>>::cast(arg)`,
/// where `Server` is `server`, the server's type for the parameter, spanned
/// from the start to the end of the user's type for it (`written`): the
/// compiler underlines it. The `_` is inferred from the user's method: a copy
/// of the user's type would be a second error where it is misspelt.
fn cast(param: Param, server: TokenStream, arg: &syn::Ident) -> TokenStream {
    let check = match param {
        Param::Request => "RequestParam",
        Param::ClientAddress => "ClientAddressParam",
        Param::Error => "ErrorParam",
    };
    let check = format_ident!("{}", check);
    let private = private();
    quote!(<#server as #private::#check<_>>::cast(#arg))
}

/// The tokens of a type spanned so that the compiler underlines it, and any
/// `Self as Trait` in it, from `start` to `end`: up to the first `Self` (or
/// the first token) at `start`, the rest at `end`.
fn respan_type(tokens: TokenStream, start: Span, end: Span) -> TokenStream {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let split = tokens
        .iter()
        .position(|t| matches!(t, TokenTree::Ident(i) if i == "Self"))
        .unwrap_or(0);
    let (head, tail) = tokens.split_at(split + 1);
    let head = respan(head.iter().cloned().collect(), start);
    let tail = respan(tail.iter().cloned().collect(), end);
    quote!(#head #tail)
}

/// `tokens`, every one of them spanned at `span`.
pub(crate) fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let TokenTree::Group(group) = &token {
                let mut group = Group::new(group.delimiter(), respan(group.stream(), span));
                group.set_span(span);
                token = TokenTree::Group(group);
            } else {
                token.set_span(span);
            }
            token
        })
        .collect()
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
                fn serve<'a>(&'a self, req: &'a mut StreamRequest<'a>) -> io::Result<()> {
                    Ok(())
                }
            ),
        );
        assert!(
            out.contains("pub (crate) fn only_one_method_may_be_marked_handle (& self"),
            "{out}"
        );
        assert!(
            out.contains("as :: socketserver :: __private :: RequestParam < _ >> :: cast"),
            "{out}"
        );
        assert!(out.contains("IoResultReturn :: into_return"), "{out}");
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
    fn misplaced_attributes_are_one_error() {
        let out = errors_of(
            handle,
            quote!(
                impl Echo {
                    fn handle(&self, r: &mut StreamRequest) -> io::Result<()> {
                        Ok(())
                    }
                }
            ),
        );
        assert_eq!(out.matches("compile_error").count(), 1, "{out}");
        assert!(out.contains("put it above `fn handle`"), "{out}");
        assert!(out.contains("__SocketserverSelf"), "{out}");
        let out = errors_of(
            hook,
            quote!(
                struct Echo;
            ),
        );
        assert_eq!(out.matches("compile_error").count(), 1, "{out}");
        assert!(!out.contains("__SocketserverSelf"), "{out}");
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

    #[test]
    fn every_hook_signature_is_its_shape() {
        assert_eq!(
            HANDLER.signature(),
            "fn handle(&self, req: &mut StreamRequest) -> io::Result<()>"
        );
        let handle_error = HOOKS.iter().find(|h| h.name == "handle_error").unwrap();
        assert_eq!(
            handle_error.signature(),
            "fn handle_error(&self, client_address: &SocketAddr, error: &RequestError)"
        );
    }
}
