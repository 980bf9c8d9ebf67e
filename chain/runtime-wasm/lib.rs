#![no_std]
pub use contracts_parachain_runtime::*;
