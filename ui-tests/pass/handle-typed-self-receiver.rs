//! `self: &Self` is `&self` spelt out, and is accepted.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server]
struct Echo;

impl Echo {
    #[handle]
    #[allow(clippy::needless_arbitrary_self_type)]
    fn handle(self: &Self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
