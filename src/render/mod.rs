//! Rendering for viewers: the HTML pages and the CSV export, as pure functions of the data.

pub mod applications;
pub mod changes;
pub mod charts;
pub mod csv;
pub mod html;
pub mod settings;
pub mod svg;
pub mod users;
