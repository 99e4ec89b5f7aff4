//! One module per rule: its id, name, default severity, docs and check.

pub mod gate001;
pub mod gate002;
pub mod gate003;
pub mod idem001;
pub mod idem002;
pub mod idem003;
pub mod idem004;
pub mod idem005;
pub mod oas001;
pub mod oas002;
pub mod oas003;
pub mod oas004;
pub mod oas005;
pub mod oas006;
pub mod retry001;
pub mod retry002;
pub mod retry003;
pub mod retry004;
pub mod retry005;
pub mod retry006;
pub mod retry007;
pub mod spec001;
pub mod spec002;
pub mod spec003;
