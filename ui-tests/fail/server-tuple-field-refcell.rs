//! A tuple struct with a `RefCell` field cannot be shared between the
//! server's threads.

use socketserver::{StreamRequest, handle, server};
use std::cell::RefCell;
use std::io;

#[server]
struct Log(String, RefCell<Vec<String>>);

impl Log {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        self.1.borrow_mut().push(self.0.clone());
        Ok(())
    }
}

fn main() {}
