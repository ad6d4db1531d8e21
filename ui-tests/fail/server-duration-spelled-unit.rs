//! A unit spelt out (`min`): the message gives the unit to write.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(timeout = "5min")]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
