//! A handler returning `bool` instead of `io::Result<()>`.

use socketserver::{StreamRequest, handle, server};

#[server]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> bool {
        true
    }
}

fn main() {}
