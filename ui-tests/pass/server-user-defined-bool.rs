//! The program defines a type named `bool`: the generated code names the
//! primitive by its full path.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[allow(non_camel_case_types, dead_code)]
struct bool;

#[server]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
