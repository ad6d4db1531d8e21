//! A handler returning `Result<(), String>` instead of `io::Result<()>`.

use socketserver::{StreamRequest, handle, server};

#[server]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> Result<(), String> {
        Ok(())
    }
}

fn main() {}
