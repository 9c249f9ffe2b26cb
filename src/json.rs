//! JSON data through `serde_json` (feature `json`).

use crate::event::Event;

impl Event {
    /// Serializes `value` as JSON straight into the event's data, with no intermediate
    /// `String`. Line breaks inside the JSON (possible only within a
    /// `serde_json::value::RawValue` or a pretty-printer's whitespace)
    /// become separate `data:` lines, which a client joins back with `\n`.
    ///
    /// # Errors
    ///
    /// Whatever `serde_json` reports for `value` (for example a map with non-string
    /// keys); the event is then dropped.
    ///
    /// ```
    /// # #[cfg(feature = "json")] {
    /// #[derive(serde::Serialize)]
    /// struct Price { symbol: &'static str, cents: u64 }
    ///
    /// let event = ssewire::Event::new().json_data(&Price { symbol: "ACME", cents: 1234 })?;
    /// assert_eq!(event.encode().as_ref(), b"data: {\"symbol\":\"ACME\",\"cents\":1234}\n\n");
    /// # }
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "json")))]
    pub fn json_data<T: serde::Serialize + ?Sized>(
        mut self,
        value: &T,
    ) -> Result<Self, serde_json::Error> {
        serde_json::to_writer(self.data_writer(), value)?;
        Ok(self)
    }
}
