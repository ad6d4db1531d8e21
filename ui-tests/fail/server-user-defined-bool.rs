//! The program defines a type named `bool`. This should compile: see the
//! report (the generated `verify_request` writes `bool`, not
//! `::core::primitive::bool`).

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
