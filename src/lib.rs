//! rosterd: keeps Auth0 and the PodFactory mappings in step with the
//! Productivity System's employees table. See ARCHITECTURE.md.

pub mod model;
pub mod sim;
