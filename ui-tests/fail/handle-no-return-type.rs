//! A handler that returns nothing: it returns `io::Result<()>`.

use socketserver::{StreamRequest, handle, server};

#[server]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) {}
}

fn main() {}
