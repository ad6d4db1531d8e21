//! [`Unix`]: a Unix stream socket, Python's `UnixStreamServer`; and what both
//! Unix transports share: their addresses, and the life of their socket files.
//!
//! A socket bound to a path leaves a file there, which outlives the socket: a
//! server that died leaves a *stale* one, in the way of the next bind. Binding
//! here removes it, but only once a connect to it was refused (a live server
//! answers; it is never taken over), and never a file that is not a socket.
//! Closing the server removes the file it made, unless another has replaced it
//! since.

use super::{ListenOptions, Transport, Yields, context, sealed};
use crate::report::emit;
use crate::request::{Conn, ConnState, StreamRequest};
use socket2::{Domain, SockAddr, Socket, Type};
use std::ffi::OsStr;
use std::fmt;
use std::fs;
use std::io;
#[cfg(target_os = "android")]
use std::os::android::net::SocketAddrExt;
use std::os::fd::{AsFd, BorrowedFd};
#[cfg(target_os = "linux")]
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process;

/// The socket options of a Unix stream server. Start from
/// `UnixOptions::default()` and change fields; the builder's methods set them
/// too.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct UnixOptions {
    /// Length of the queue of connections not yet accepted (Python's
    /// `request_queue_size`; default 1024, capped by the system's `somaxconn`).
    pub backlog: i32,
}

impl Default for UnixOptions {
    fn default() -> UnixOptions {
        UnixOptions { backlog: 1024 }
    }
}

impl ListenOptions for UnixOptions {
    fn set_backlog(&mut self, backlog: i32) {
        self.backlog = backlog;
    }
}

/// A listening Unix stream socket (Python's `UnixStreamServer` without its
/// loop), bound to a path, or on Linux to an abstract name.
///
/// Each connection is a [`StreamRequest<UnixStream>`](StreamRequest); its
/// client address is usually unnamed (clients seldom bind their sockets).
///
/// Binding to a path where a socket file is left over from a server that is
/// gone removes that file first; a path where a server still listens, or where
/// a file that is not a socket lies, is refused. Closing the server removes
/// the socket file it made (see the [module](crate::transport) docs).
#[derive(Debug)]
pub struct Unix {
    // Closed before `file` removes the path.
    listener: UnixListener,
    addr: SocketAddr,
    /// The file this server's bind made, removed when it closes.
    file: Option<SocketFile>,
}

/// The `BindAddr` implementations of a Unix transport: the paths, and std's
/// Unix socket address.
macro_rules! bind_unix_addrs {
    ($transport:ty) => {
        impl $crate::transport::BindAddr<$transport> for &str {
            fn bind_addrs(self) -> ::std::io::Result<Vec<::std::os::unix::net::SocketAddr>> {
                $crate::transport::unix::unix_addr(::std::path::Path::new(self)).map(|a| vec![a])
            }
        }

        impl $crate::transport::BindAddr<$transport> for String {
            fn bind_addrs(self) -> ::std::io::Result<Vec<::std::os::unix::net::SocketAddr>> {
                $crate::transport::unix::unix_addr(::std::path::Path::new(&self)).map(|a| vec![a])
            }
        }

        impl $crate::transport::BindAddr<$transport> for &::std::path::Path {
            fn bind_addrs(self) -> ::std::io::Result<Vec<::std::os::unix::net::SocketAddr>> {
                $crate::transport::unix::unix_addr(self).map(|a| vec![a])
            }
        }

        impl $crate::transport::BindAddr<$transport> for ::std::path::PathBuf {
            fn bind_addrs(self) -> ::std::io::Result<Vec<::std::os::unix::net::SocketAddr>> {
                $crate::transport::unix::unix_addr(&self).map(|a| vec![a])
            }
        }

        impl $crate::transport::BindAddr<$transport> for ::std::os::unix::net::SocketAddr {
            fn bind_addrs(self) -> ::std::io::Result<Vec<::std::os::unix::net::SocketAddr>> {
                if self.is_unnamed() {
                    return Err(::std::io::Error::new(
                        ::std::io::ErrorKind::InvalidInput,
                        "cannot bind a server to an unnamed Unix socket address: give a path",
                    ));
                }
                Ok(vec![self])
            }
        }
    };
}
pub(super) use bind_unix_addrs;

bind_unix_addrs!(Unix);

/// The address of `path`: a path, or on Linux, an abstract name when it
/// starts with a NUL byte (`"\0name"`, Python's convention).
pub(super) fn unix_addr(path: &Path) -> io::Result<SocketAddr> {
    let bytes = path.as_os_str().as_bytes();
    match bytes.first() {
        None => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "cannot bind a Unix socket to an empty path",
        )),
        Some(0) => abstract_addr(&bytes[1..]),
        Some(_) => SocketAddr::from_pathname(path).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot bind a Unix socket to {}: {e}", path.display()),
            )
        }),
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn abstract_addr(name: &[u8]) -> io::Result<SocketAddr> {
    SocketAddr::from_abstract_name(name).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "cannot bind the abstract Unix socket name @{}: {e}",
                name.escape_ascii()
            ),
        )
    })
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn abstract_addr(name: &[u8]) -> io::Result<SocketAddr> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        format!(
            "cannot bind @{}: abstract Unix socket names (a path starting with a NUL byte) \
             exist on Linux only",
            name.escape_ascii()
        ),
    ))
}

/// The abstract name of `addr`, where the system has them.
fn abstract_name(addr: &SocketAddr) -> Option<&[u8]> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    return addr.as_abstract_name();
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = addr;
        None
    }
}

/// A Unix socket address as messages show it: the path, `@name` for an
/// abstract name (as `ss` shows it), or `(unnamed)`.
pub(super) struct Name<'a>(pub(super) &'a SocketAddr);

impl fmt::Display for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(path) = self.0.as_pathname() {
            write!(f, "{}", path.display())
        } else if let Some(name) = abstract_name(self.0) {
            write!(f, "@{}", name.escape_ascii())
        } else {
            f.write_str("(unnamed)")
        }
    }
}

/// `addr` as `socket2` takes it.
fn sock_addr(addr: &SocketAddr) -> io::Result<SockAddr> {
    if let Some(path) = addr.as_pathname() {
        return SockAddr::unix(path);
    }
    if let Some(name) = abstract_name(addr) {
        // `socket2` reads a leading NUL byte as an abstract name.
        let mut bytes = Vec::with_capacity(name.len() + 1);
        bytes.push(0);
        bytes.extend_from_slice(name);
        return SockAddr::unix(OsStr::from_bytes(&bytes));
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        "cannot bind a server to an unnamed Unix socket address: give a path",
    ))
}

/// The address `socket` is bound to, as std has it.
fn bound_addr(socket: &Socket) -> io::Result<SocketAddr> {
    let addr = socket.local_addr()?;
    if let Some(path) = addr.as_pathname() {
        return SocketAddr::from_pathname(path);
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let Some(name) = addr.as_abstract_namespace() {
        return SocketAddr::from_abstract_name(name);
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        "the socket is not bound to a Unix socket path or name",
    ))
}

/// Creates a Unix socket of type `ty` for `addr`.
pub(super) fn new_socket(addr: &SocketAddr, ty: Type) -> io::Result<Socket> {
    Socket::new(Domain::UNIX, ty, None)
        .map_err(|e| context(e, "cannot create a Unix socket for", &Name(addr)))
}

/// Binds `socket` (of type `ty`) to `addr` and returns the address it is
/// bound to. A socket file left at the path by a server that is gone is
/// removed first (see [`clear_stale`]).
pub(super) fn bind(socket: &Socket, addr: &SocketAddr, ty: Type) -> io::Result<SocketAddr> {
    let sock_addr = sock_addr(addr)?;
    match socket.bind(&sock_addr) {
        Ok(()) => {}
        Err(e) => {
            // A path in use may hold a stale socket file; an abstract name
            // has none.
            let path = addr.as_pathname();
            let Some(path) = path.filter(|_| e.kind() == io::ErrorKind::AddrInUse) else {
                return Err(context(e, "cannot bind", &Name(addr)));
            };
            clear_stale(path, ty, e)?;
            socket
                .bind(&sock_addr)
                .map_err(|e| context(e, "cannot bind", &Name(addr)))?;
        }
    }
    bound_addr(socket)
}

/// What a connect to a socket file says of it.
enum Probe {
    /// A server (of either type) has it bound.
    Live,
    /// No socket has it bound: the file is left over.
    Stale,
}

/// Connects to the socket file at `path` with a socket of type `ty`, without
/// waiting, to tell a live server from a stale file. A live stream server sees
/// a connection that ends at once.
///
/// Linux answers a connect to a listener whose queue is full with `EAGAIN`,
/// told apart here; macOS and the BSDs refuse it, so there a server that is
/// overwhelmed at that very moment looks gone.
fn probe(path: &Path, ty: Type) -> io::Result<Probe> {
    let socket = Socket::new(Domain::UNIX, ty, None)?;
    socket.set_nonblocking(true)?;
    match socket.connect(&SockAddr::unix(path)?) {
        Ok(()) => Ok(Probe::Live),
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => Ok(Probe::Stale),
        // A listener whose queue is full; a server of the other type.
        Err(e)
            if e.kind() == io::ErrorKind::WouldBlock
                || e.raw_os_error() == Some(libc::EINPROGRESS)
                || e.raw_os_error() == Some(libc::EPROTOTYPE) =>
        {
            Ok(Probe::Live)
        }
        Err(e) => Err(e),
    }
}

/// Makes way at `path`, which binding found in use (`in_use`): removes a
/// socket file no server has bound; refuses, naming the path, when a server
/// answers there or when the file is not a socket (it is never removed).
fn clear_stale(path: &Path, ty: Type, in_use: io::Error) -> io::Result<()> {
    let shown = path.display();
    let found = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        // Gone since: bind again.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(context(e, "cannot look at the file in the way at", &shown)),
    };
    if !found.file_type().is_socket() {
        return Err(context(
            in_use,
            "cannot bind",
            &format_args!(
                "{shown}: the file there is not a socket, and is left as it is (remove it, or \
                 choose another path)"
            ),
        ));
    }
    match probe(path, ty) {
        Ok(Probe::Live) => Err(context(
            in_use,
            "cannot bind",
            &format_args!("{shown}: a server is listening there"),
        )),
        Ok(Probe::Stale) => {
            // Only the file that was probed: not one that took its place since.
            match fs::symlink_metadata(path) {
                Ok(now) if now.dev() == found.dev() && now.ino() == found.ino() => {
                    match fs::remove_file(path) {
                        Ok(()) => {
                            log::info!("removed the stale socket file {shown}");
                            Ok(())
                        }
                        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                        Err(e) => Err(context(e, "cannot remove the stale socket file", &shown)),
                    }
                }
                // Replaced since, or gone: binding again says which.
                _ => Ok(()),
            }
        }
        Err(e) => Err(context(
            e,
            "cannot bind",
            &format_args!("{shown}: cannot tell whether a server listens there"),
        )),
    }
}

/// The socket file a server's bind made: removed when the server closes, if
/// it is still that file (same device and inode), so that a newer server's
/// file at the same path is left alone; and only by the process that bound it
/// (not by a forked child's copy of the server).
#[derive(Debug)]
pub(super) struct SocketFile {
    /// Made absolute when recorded: the working directory may change.
    path: PathBuf,
    dev: u64,
    ino: u64,
    pid: u32,
}

impl SocketFile {
    /// Records the file at `addr`'s path, which the server has just bound;
    /// `None` for an abstract name, which has no file.
    ///
    /// # Errors
    ///
    /// When the file is not there (removed since the bind).
    pub(super) fn record(addr: &SocketAddr) -> io::Result<Option<SocketFile>> {
        let Some(path) = addr.as_pathname() else {
            return Ok(None);
        };
        let meta = fs::symlink_metadata(path).map_err(|e| {
            context(
                e,
                "cannot find the socket file just bound at",
                &path.display(),
            )
        })?;
        Ok(Some(SocketFile {
            path: std::path::absolute(path).unwrap_or_else(|_| path.to_owned()),
            dev: meta.dev(),
            ino: meta.ino(),
            pid: process::id(),
        }))
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        if process::id() != self.pid {
            return;
        }
        let shown = self.path.display();
        match fs::symlink_metadata(&self.path) {
            Ok(meta)
                if meta.file_type().is_socket()
                    && meta.dev() == self.dev
                    && meta.ino() == self.ino =>
            {
                match fs::remove_file(&self.path) {
                    Ok(()) => log::debug!("removed the socket file {shown}"),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => emit!(
                        log::Level::Warn,
                        "cannot remove the socket file {shown} of the closed server: {e}"
                    ),
                }
            }
            Ok(_) => log::debug!(
                "left {shown} as it is: it is no longer the socket file this server bound"
            ),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => emit!(
                log::Level::Warn,
                "cannot look at the socket file {shown} of the closed server: {e}"
            ),
        }
    }
}

/// Checks that `socket` is a Unix socket of type `ty`, for `adopt`.
pub(super) fn check_adopted(socket: &Socket, ty: Type, what: &str) -> io::Result<()> {
    let unix = socket.local_addr()?.is_unix();
    if !unix || socket.r#type()? != ty {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("cannot serve on this socket: it is not {what}"),
        ));
    }
    Ok(())
}

impl sealed::Sealed for Unix {}

impl Transport for Unix {
    type Conn = UnixStream;
    type Addr = SocketAddr;
    type Options = UnixOptions;

    fn new_socket(addr: &SocketAddr, _: &UnixOptions) -> io::Result<Socket> {
        new_socket(addr, Type::STREAM)
    }

    fn bind_socket(socket: &Socket, addr: &SocketAddr, _: &UnixOptions) -> io::Result<SocketAddr> {
        bind(socket, addr, Type::STREAM)
    }

    fn activate(socket: Socket, options: &UnixOptions) -> io::Result<Unix> {
        let addr = bound_addr(&socket)?;
        // Recorded first: a failed `listen` removes the file again.
        let file = SocketFile::record(&addr)?;
        socket
            .listen(options.backlog)
            .map_err(|e| context(e, "cannot listen on", &Name(&addr)))?;
        let mut unix = Unix::adopt(socket, options)?;
        unix.file = file;
        Ok(unix)
    }

    fn adopt(socket: Socket, _: &UnixOptions) -> io::Result<Unix> {
        check_adopted(&socket, Type::STREAM, "a listening Unix stream socket")?;
        if !super::is_listening(&socket2::SockRef::from(&socket))? {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "cannot serve on this socket: it is not a listening Unix stream socket",
            ));
        }
        let listener = UnixListener::from(socket);
        let addr = listener.local_addr()?;
        listener
            .set_nonblocking(true)
            .map_err(|e| context(e, "cannot make non-blocking the listener on", &Name(&addr)))?;
        Ok(Unix {
            listener,
            addr,
            file: None,
        })
    }

    fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let (stream, addr) = self.listener.accept()?;
        // Linux does not pass the listener's O_NONBLOCK on to accepted
        // sockets; the BSDs and macOS do, and handlers expect blocking sockets.
        if cfg!(not(target_os = "linux")) {
            // Fails for this connection only: drop it and go on.
            stream.set_nonblocking(false).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    format!("cannot set up a connection on {}: {e}", Name(&self.addr)),
                )
            })?;
        }
        Ok((stream, addr))
    }

    fn local_addr(&self) -> &SocketAddr {
        &self.addr
    }
}

impl Yields<StreamRequest<UnixStream>> for Unix {
    fn request_parts(conn: UnixStream, addr: SocketAddr) -> (UnixStream, SocketAddr) {
        (conn, addr)
    }
}

impl<St: ConnState> Yields<Conn<St, UnixStream>> for Unix {
    fn request_parts(conn: UnixStream, addr: SocketAddr) -> (UnixStream, SocketAddr) {
        (conn, addr)
    }
}

impl AsFd for Unix {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.listener.as_fd()
    }
}
