use crate::names::named_enum;

named_enum! {
    /// What a portal account may do (`../shared/DESIGN.md`, "The portal").
    pub enum Role {
        /// The cases assigned to them.
        Investigator = "investigator",
        /// People, settings and keys; no case content unless also assigned.
        Admin = "admin",
        /// The audit log and statistics; no case content.
        Auditor = "auditor",
    }
}
