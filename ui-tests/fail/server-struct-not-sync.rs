//! The struct is shared by every request, on several threads: a `Cell` field
//! makes it not `Sync`.

use socketserver::{StreamRequest, handle, server};
use std::cell::Cell;
use std::io;

#[server]
struct Counter {
    served: Cell<u64>,
}

impl Counter {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        self.served.set(self.served.get() + 1);
        Ok(())
    }
}

fn main() {}
