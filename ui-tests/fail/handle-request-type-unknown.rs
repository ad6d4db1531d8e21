//! A misspelt request type is one error, the compiler's, not a second one
//! from the code the attribute adds.

use socketserver::{handle, server};
use std::io;

#[server]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamReqest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
