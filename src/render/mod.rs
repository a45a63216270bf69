//! Rendering for viewers: the HTML pages and the CSV export, as pure functions of the data.

pub mod csv;
pub mod charts;
pub mod html;
pub mod svg;
