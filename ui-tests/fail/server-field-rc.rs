//! The struct is shared by every request, on several threads: an `Rc` field
//! can be neither sent nor shared between them.

use socketserver::{StreamRequest, handle, server};
use std::io;
use std::rc::Rc;

#[server]
struct Greeter {
    greeting: Rc<String>,
}

impl Greeter {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        let _ = self.greeting.len();
        Ok(())
    }
}

fn main() {}
