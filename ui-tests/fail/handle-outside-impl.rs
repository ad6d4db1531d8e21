//! `#[handle]` on a free function instead of a method of the struct.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server]
struct Echo;

#[handle]
fn handle(_req: &mut StreamRequest) -> io::Result<()> {
    Ok(())
}

fn main() {}
