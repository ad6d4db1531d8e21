//! A documented `pub` server with derives on either side of `#[server]`, a
//! const generic, and strict lints denied: the generated code adds no warning.

#![deny(
    warnings,
    missing_docs,
    missing_debug_implementations,
    unused_qualifications,
    unreachable_pub,
    unsafe_code
)]

use socketserver::{StreamRequest, handle, server};
use std::io;

/// Derives before the attribute.
#[derive(Debug, Clone, Default)]
#[server(concurrency = "sync")]
pub struct Before;

/// Derives after the attribute, and a const generic.
#[server]
#[derive(Debug, Clone, Default)]
pub struct After<const N: usize>;

impl Before {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

impl<const N: usize> After<N> {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() -> io::Result<()> {
    let before = Before.clone().bind("127.0.0.1:0")?;
    assert_ne!(before.server_address().port(), 0);
    let after = After::<3>::default().bind("127.0.0.1:0")?;
    assert_ne!(after.server_address().port(), 0);
    Ok(())
}
