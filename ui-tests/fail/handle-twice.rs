use socketserver::{StreamRequest, handle, server};
use std::io;

#[server]
struct Twice;

impl Twice {
    #[handle]
    fn one(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }

    #[handle]
    fn two(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
