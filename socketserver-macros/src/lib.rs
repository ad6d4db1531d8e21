//! The attributes of [`socketserver`](https://docs.rs/socketserver): `#[server]`,
//! `#[handle]` and `#[hook]`. Use them through the `socketserver` crate, which
//! re-exports them; this crate is their implementation. Each attribute's own
//! documentation says how to use it.
//!
//! # What they write for you
//!
//! ```text
//! #[server(transport = "tcp", concurrency = "threading", backlog = 128, timeout = "30s")]
//! struct Upper { lines: AtomicU64 }
//!
//! impl Upper {
//!     #[handle]
//!     fn handle(&self, req: &mut StreamRequest) -> io::Result<()> { … }
//!
//!     #[hook]
//!     fn verify_request(&self, client: &SocketAddr) -> bool { … }
//! }
//! ```
//!
//! expands to the struct and methods as written, plus (paths shortened; the
//! real ones go through `::socketserver::__private`):
//!
//! ```text
//! impl ServerTypes for Upper {                       // the struct's generics, no more bounds
//!     type Request = StreamRequest<TcpStream>;      // from `transport`
//! }
//!
//! impl Service for Upper where for<'a> Self: SharedState {
//!     type Request = StreamRequest<TcpStream>;
//!     fn handle(&self, arg0: &mut Self::Request) -> io::Result<()> {
//!         <Self>::only_one_method_may_be_marked_handle(self, arg0)    // added by #[handle]
//!     }
//!     fn verify_request(&self, arg0: &SocketAddr) -> bool {
//!         <Self>::__socketserver_hook_verify_request(self, arg0)      // added by #[hook]
//!     }
//!     fn setup(&self, arg0: &mut Self::Request) -> io::Result<()> {
//!         <Self>::__socketserver_hook_setup(self, arg0)  // no #[hook]: the default
//!     }
//!     // … and so on for every hook
//! }
//!
//! impl Upper {
//!     pub fn builder(self) -> Builder<Tcp, Threading, Self> where … {
//!         Server::<Tcp, Threading, Self>::builder(self)
//!             .backlog(128)
//!             .timeout(Some(Duration::from_nanos(30_000_000_000)))
//!     }
//!     pub fn bind(self, addr: impl BindAddr<Tcp>) -> io::Result<Server<Tcp, Threading, Self>> where … {
//!         Self::builder(self).bind(addr)
//!     }
//! }
//!
//! const _: () = {                                    // one check per field
//!     impl Upper {
//!         fn __socketserver_check_fields() {
//!             <AtomicU64 as SharedField<Self, lines>>::check();     // spanned on `AtomicU64`
//!         }
//!     }
//! };
//!
//! // from #[handle], inside the user's impl block:
//! #[doc(hidden)]
//! pub(crate) fn only_one_method_may_be_marked_handle(
//!     &self,
//!     arg0: &mut <Self as ServerTypes>::Request,
//! ) -> io::Result<()> {
//!     IoResultReturn::into_return(                          // spanned on `io::Result<()>`
//!         Self::handle(self, <<Self as ServerTypes>::Request as RequestParam<_>>::cast(arg0)),
//!     )                                                     // ^ spanned on `&mut StreamRequest`
//! }
//! ```
//!
//! A struct attribute never sees the `impl` blocks, so `#[server]` calls the
//! handler and hooks by well-known names (the table's `forwarder`s). The
//! handler's is worded for the one error it shows up in: a second `#[handle]`
//! defines it twice. Where no marked method defines one, the name resolves to
//! a method of the runtime's `__private::Fallback` trait: the default of a
//! hook, or, for the handler, a method whose bound can never hold and whose
//! `#[diagnostic::on_unimplemented]` message says that the struct has no
//! `#[handle]` method.
//!
//! A type that does not fit is the compiler's to find, and each is checked on
//! the user's own tokens through a trait of `__private` whose message says
//! what to write: each parameter (`RequestParam`, `ClientAddressParam`,
//! `ErrorParam`), the return type (`IoResultReturn`, `BoolReturn`), each field
//! (`SharedField`), so that a mistake is one error, where it was written.
//! `ServerTypes` has no bounds beyond the struct's own, so that it holds in
//! every `impl` block of the struct, whatever its lifetimes and type parameters.
//!
//! The phases live in their own files: `table.rs` describes every key, mode and
//! hook once; `attr.rs` parses the keys, `valid.rs` checks them together,
//! `expand.rs` writes the code of `#[server]`, `method.rs` that of `#[handle]`
//! and `#[hook]`; `build.rs` renders the tables of the attributes' docs.

mod attr;
mod diag;
mod expand;
mod method;
mod suggest;
mod table;
mod valid;

use proc_macro::TokenStream;

/// Makes a struct a server: it implements the runtime's `Service` for it and
/// gives it `bind(addr)` and `builder()`.
///
/// ```ignore
#[doc = include_str!("../doc/server.rs")]
/// ```
///
/// (The examples of this crate are not run as doctests here, as this crate
/// cannot depend on `socketserver`: `ui-tests/pass/doc-*.rs` compile and run
/// these very files.)
///
/// The struct (unit, tuple or with fields; generics allowed) is the server's
/// shared state: every request sees it through `&self`, on several threads, so
/// it must be `Send + Sync + 'static`; a field that is not (an `Rc`, `Cell` or
/// `RefCell`) is an error on that field. One of its methods is marked
/// [`#[handle]`](macro@handle); methods marked [`#[hook]`](macro@hook) replace
/// the server's hooks. `bind` and `builder` are taken: the struct cannot have
/// methods of its own by those names.
///
/// `Upper { .. }.bind("127.0.0.1:9999")?` binds and listens with the settings of
/// the attribute; `.builder()` returns the runtime's `Builder` with them, to
/// override some at run time (`.builder().backlog(4096).bind(addr)?`).
///
/// # Keys
///
/// All are optional: `#[server]` alone is a threading TCP server.
///
#[doc = include_str!(concat!(env!("OUT_DIR"), "/keys.md"))]
///
/// Every mistake is a compile error on the token to blame that says what to
/// write: an unknown key (with "did you mean"), one set twice, a value of the
/// wrong kind or out of range, an option that does not apply to the chosen
/// transport or concurrency model, a key of a later version.
#[proc_macro_attribute]
pub fn server(args: TokenStream, input: TokenStream) -> TokenStream {
    expand::server(args.into(), input.into()).into()
}

/// Marks the method that serves each request: one per `#[server]` struct, in
/// an inherent `impl` block of it (covering every value of its type
/// parameters).
///
/// Its signature:
///
#[doc = include_str!(concat!(env!("OUT_DIR"), "/handler.md"))]
///
/// Any name, any parameter name, and lifetimes are allowed; the request type
/// follows the server's `transport` (a type alias of it is fine), except that a
/// `tcp` or `unix` server's handler is buffer-shaped, `&mut Conn<T>`, with
/// `conn = "T"`, and `&mut Conn` (or `&mut Conn<T>`) under
/// `concurrency = "event"`, whose event loops a handler that waits for input
/// would hold up. Not `async`: handlers run on blocking threads, or on the
/// event loops' threads, one request at a time per thread. Return
/// `Ok(())` when the request is done; an `Err` (or a panic) goes to the
/// `handle_error` hook with the client's address, and the server goes on.
/// A parameter or return type that does not fit is an error on that type,
/// saying what to write.
///
/// ```ignore
#[doc = include_str!("../doc/handle.rs")]
/// ```
///
/// (Not run here: `ui-tests/pass/doc-handle.rs` compiles and runs this file.)
#[proc_macro_attribute]
pub fn handle(args: TokenStream, input: TokenStream) -> TokenStream {
    method::handle(args.into(), input.into()).into()
}

/// Marks a method that replaces one of the server's hooks, Python's override
/// points of `BaseServer` and `BaseRequestHandler`; the method's name chooses
/// the hook. A hook not marked keeps its default.
///
#[doc = include_str!(concat!(env!("OUT_DIR"), "/hooks.md"))]
///
/// The request and the client's address types follow the server's
/// `transport` (for TCP, `StreamRequest` and `std::net::SocketAddr`; the
/// request is the handler's `Conn` where it is buffer-shaped). A
/// misspelt name is an error that says which names are hooks; a signature
/// that does not fit is an error on the part to change.
///
/// ```ignore
#[doc = include_str!("../doc/hook.rs")]
/// ```
///
/// (Not run here: `ui-tests/pass/doc-hook.rs` compiles and runs this file.)
#[proc_macro_attribute]
pub fn hook(args: TokenStream, input: TokenStream) -> TokenStream {
    method::hook(args.into(), input.into()).into()
}
