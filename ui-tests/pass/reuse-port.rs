//! `reuse_port = true` lets two servers listen on one port; without it the
//! second bind fails.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(reuse_port = true)]
struct Shared;

#[server]
struct Alone;

impl Shared {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

impl Alone {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() -> io::Result<()> {
    let first = Shared.bind("127.0.0.1:0")?;
    let addr = *first.server_address();
    let second = Shared.bind(addr)?;
    assert_eq!(*second.server_address(), addr);

    let taken = Alone.bind("127.0.0.1:0")?;
    let error = Alone
        .bind(*taken.server_address())
        .err()
        .expect("bound twice");
    assert_eq!(error.kind(), io::ErrorKind::AddrInUse, "{error}");
    Ok(())
}
