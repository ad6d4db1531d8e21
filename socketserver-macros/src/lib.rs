//! The attributes of [`socketserver`](https://docs.rs/socketserver): `#[server]`,
//! `#[handle]` and `#[hook]`. Use them through the `socketserver` crate, which
//! re-exports them; this crate is its implementation.
//!
//! # What they write for you
//!
//! ```text
//! #[server(transport = "tcp", concurrency = "threading", backlog = 128, timeout = "30s")]
//! struct Upper;
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
//! impl Service for Upper where Self: Send + Sync + 'static {
//!     type Request = StreamRequest<TcpStream>;           // from `transport`
//!     fn handle(&self, request: &mut Self::Request) -> io::Result<()> {
//!         <Self>::only_one_method_may_be_marked_handle(self, request)   // added by #[handle]
//!     }
//!     fn verify_request(&self, client_address: &SocketAddr) -> bool {
//!         <Self>::__socketserver_hook_verify_request(self, client_address) // by #[hook]
//!     }
//!     fn setup(&self, request: &mut Self::Request) -> io::Result<()> {
//!         <Self>::__socketserver_hook_setup(self, request) // no #[hook]: the default
//!     }
//!     // … and so on for every hook
//! }
//!
//! impl Upper {
//!     pub fn builder(self) -> Builder<Tcp, Threading, Self> {
//!         Server::<Tcp, Threading, Self>::builder(self)
//!             .backlog(128)
//!             .timeout(Some(Duration::from_nanos(30_000_000_000)))
//!     }
//!     pub fn bind(self, addr: impl ToSocketAddrs) -> io::Result<Server<Tcp, Threading, Self>> {
//!         Self::builder(self).bind(addr)
//!     }
//! }
//!
//! // from #[handle] and #[hook], inside the user's impl block:
//! #[doc(hidden)]
//! fn only_one_method_may_be_marked_handle(&self, arg1: &mut StreamRequest) -> io::Result<()> {
//!     Self::handle(self, arg1)
//! }
//! ```
//!
//! A struct attribute never sees the `impl` blocks, so `#[server]` calls the
//! handler and hooks by well-known names. The handler's is worded for the one
//! error it shows up in: a second `#[handle]` defines it twice. Where no marked method defines one,
//! the name resolves to a fallback trait method of the runtime: the default of
//! a hook, or, for the handler, a method whose bound can never hold and whose
//! `#[diagnostic::on_unimplemented]` message says that the struct has no
//! `#[handle]` method.
//!
//! The phases live in their own files: `attr.rs` parses the keys, `valid.rs`
//! checks them together, `expand.rs` writes the code, `method.rs` handles the
//! method attributes.

mod attr;
mod diag;
mod expand;
mod method;
mod suggest;
mod valid;

use proc_macro::TokenStream;

/// Makes a struct a server: see the `socketserver` crate's documentation.
#[proc_macro_attribute]
pub fn server(args: TokenStream, input: TokenStream) -> TokenStream {
    expand::server(args.into(), input.into()).into()
}

/// Marks the method that serves each request: see the `socketserver` crate's
/// documentation.
#[proc_macro_attribute]
pub fn handle(args: TokenStream, input: TokenStream) -> TokenStream {
    method::handle(args.into(), input.into()).into()
}

/// Marks a method that replaces one of the server's hooks, chosen by the
/// method's name: see the `socketserver` crate's documentation.
#[proc_macro_attribute]
pub fn hook(args: TokenStream, input: TokenStream) -> TokenStream {
    method::hook(args.into(), input.into()).into()
}
