//! What every phase shares: collecting errors, and naming things in them.

use crate::table::{Param, Returns};
use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};

/// Where generated code finds the runtime: always this absolute path, so that
/// it compiles whatever the user's code has in scope.
pub(crate) fn private() -> TokenStream {
    quote!(::socketserver::__private)
}

/// The type the server passes for `param`, where `request` is the server's
/// request type: what the `Service` methods and the forwarders declare.
pub(crate) fn server_type(param: Param, request: &TokenStream) -> TokenStream {
    let elem = server_elem(param, request);
    reference(param, &elem)
}

/// `&mut elem` or `&elem`, as `param` is taken.
pub(crate) fn reference(param: Param, elem: &TokenStream) -> TokenStream {
    if param.mutable() {
        quote!(&mut #elem)
    } else {
        quote!(&#elem)
    }
}

/// [`server_type`] without its reference.
pub(crate) fn server_elem(param: Param, request: &TokenStream) -> TokenStream {
    let private = private();
    match param {
        Param::Request => quote!(#request),
        Param::ClientAddress => quote!(<#request as #private::Request>::Addr),
        Param::Error => quote!(#private::RequestError),
    }
}

/// The type the server expects back, by absolute path.
pub(crate) fn return_type(returns: Returns) -> TokenStream {
    let private = private();
    match returns {
        Returns::IoResult => quote!(#private::io::Result<()>),
        Returns::Bool => quote!(::core::primitive::bool),
        Returns::Nothing => quote!(()),
    }
}

/// Collects every error instead of stopping at the first, so that the user sees
/// all of them in one build.
///
/// Like serde's `Ctxt`, it must be finished: dropping it with errors still
/// inside panics (outside of a panic already under way), so that no code path
/// can lose an error by returning early.
#[derive(Debug, Default)]
pub(crate) struct Errors {
    errors: Option<syn::Error>,
    finished: bool,
}

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.errors {
            Some(all) => all.combine(error),
            None => self.errors = Some(error),
        }
    }

    pub(crate) fn add(&mut self, span: Span, message: impl std::fmt::Display) {
        self.push(syn::Error::new(span, message));
    }

    /// An error underlining all of `tokens`, not just their first token.
    pub(crate) fn add_spanned(&mut self, tokens: impl ToTokens, message: impl std::fmt::Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    /// Whether any error was collected so far.
    pub(crate) fn any(&self) -> bool {
        self.errors.is_some()
    }

    /// The collected errors, if any; the only way to let go of them.
    pub(crate) fn finish(mut self) -> syn::Result<()> {
        self.finished = true;
        self.errors.take().map_or(Ok(()), Err)
    }

    /// `item` (the user's code, kept so that later code and IDEs still see
    /// it), then the collected errors as `compile_error!`s.
    pub(crate) fn emit(self, item: impl ToTokens) -> TokenStream {
        let errors = self.finish().err().map(|e| e.to_compile_error());
        quote!(#item #errors)
    }
}

impl Drop for Errors {
    fn drop(&mut self) {
        if !self.finished && self.errors.is_some() && !std::thread::panicking() {
            panic!("socketserver-macros: collected errors were dropped without being reported");
        }
    }
}

/// `` `a`, `b` or `c` ``.
pub(crate) fn list(names: &[&str]) -> String {
    join(names.iter().map(|n| format!("`{n}`")).collect())
}

/// `a, b or c`.
pub(crate) fn join(items: Vec<String>) -> String {
    match items.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// The span of the first and of the last token of `tokens`: a generated
/// expression whose first token carries the one and last token the other is
/// underlined from the start to the end of what the user wrote.
pub(crate) fn span_range(tokens: &impl ToTokens) -> (Span, Span) {
    let mut iter = tokens.to_token_stream().into_iter();
    let first = iter.next().map_or_else(Span::call_site, |t| t.span());
    let last = iter.last().map_or(first, |t| t.span());
    (first, last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finished_errors_are_returned_together() {
        let mut errors = Errors::default();
        assert!(!errors.any());
        errors.add(Span::call_site(), "one");
        errors.add(Span::call_site(), "two");
        assert!(errors.any());
        let all = errors.finish().unwrap_err();
        assert_eq!(all.into_iter().count(), 2);
    }

    #[test]
    fn no_errors_may_be_dropped_unchecked() {
        Errors::default(); // nothing collected: nothing to lose
        let dropped = std::panic::catch_unwind(|| {
            let mut errors = Errors::default();
            errors.add(Span::call_site(), "lost");
        });
        assert!(dropped.is_err(), "dropping collected errors must panic");
    }
}
