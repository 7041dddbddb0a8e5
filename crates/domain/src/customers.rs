//! The customer register (ADR 0025): the vendor's customers, the status the mechanism
//! gives each, and what a concluded case does to it. Names, countries, products and the
//! reasons for a change are written by staff, never copied from a report.

use crate::Outcome;
use crate::names::named_enum;

named_enum! {
    /// Where a customer stands with the vendor.
    pub enum CustomerStatus {
        Active = "active",
        /// Looked at, nothing decided yet.
        UnderReview = "under_review",
        /// A case found misuse the customer must remedy.
        MitigationRequired = "mitigation_required",
        Suspended = "suspended",
        Terminated = "terminated",
    }
}

impl CustomerStatus {
    /// The status a case concluded with `outcome` gives the customer it names; `None`
    /// for an outcome that does not act on a customer.
    pub fn after(outcome: Outcome) -> Option<Self> {
        match outcome {
            Outcome::MitigationRequired => Some(Self::MitigationRequired),
            Outcome::CustomerSuspended => Some(Self::Suspended),
            Outcome::CustomerTerminated => Some(Self::Terminated),
            Outcome::InsufficientInformation
            | Outcome::Unrelated
            | Outcome::NotSubstantiated
            | Outcome::ReferredToAuthorities => None,
        }
    }
}

/// What a customer is called and what it has: a name (1 to [`Self::MAX_NAME`]
/// characters), a country and products (each at most [`Self::MAX_FIELD`], possibly
/// empty). Trimmed, runs of white space made one space; control and invisible
/// formatting characters refused, so a name cannot disguise itself as another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerDetails {
    name: String,
    country: String,
    products: String,
}

/// Which field of [`CustomerDetails`] is wrong, and how. The text is not repeated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CustomerError {
    #[error("the name is empty")]
    NoName,
    #[error("the {0} is too long")]
    TooLong(CustomerField),
    #[error("the {0} holds control or invisible characters")]
    Hidden(CustomerField),
}

named_enum! {
    /// A field of a customer's details.
    pub enum CustomerField {
        Name = "name",
        Country = "country",
        Products = "products",
    }
}

impl CustomerDetails {
    pub const MAX_NAME: usize = 200;
    pub const MAX_FIELD: usize = 500;

    pub fn parse(name: &str, country: &str, products: &str) -> Result<Self, CustomerError> {
        let name = one_line(name, CustomerField::Name, Self::MAX_NAME)?;
        if name.is_empty() {
            return Err(CustomerError::NoName);
        }
        Ok(Self {
            name,
            country: one_line(country, CustomerField::Country, Self::MAX_FIELD)?,
            products: one_line(products, CustomerField::Products, Self::MAX_FIELD)?,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn country(&self) -> &str {
        &self.country
    }

    pub fn products(&self) -> &str {
        &self.products
    }
}

fn one_line(typed: &str, field: CustomerField, max: usize) -> Result<String, CustomerError> {
    if typed
        .chars()
        .any(|c| (c.is_control() && !c.is_whitespace()) || crate::is_invisible_format(c))
    {
        return Err(CustomerError::Hidden(field));
    }
    let text = typed.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() > max {
        return Err(CustomerError::TooLong(field));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acting_outcomes_and_only_they_give_a_status() {
        for &o in Outcome::ALL {
            assert_eq!(CustomerStatus::after(o).is_some(), o.acts_on_customer(), "{o}");
        }
        assert_eq!(
            CustomerStatus::after(Outcome::CustomerSuspended),
            Some(CustomerStatus::Suspended)
        );
    }

    #[test]
    fn details_are_tidied_bounded_and_plain() {
        let d = CustomerDetails::parse("  Example\t Ministry ", " Ruritania", "").unwrap();
        assert_eq!(
            (d.name(), d.country(), d.products()),
            ("Example Ministry", "Ruritania", "")
        );
        assert_eq!(CustomerDetails::parse(" \n", "", ""), Err(CustomerError::NoName));
        assert_eq!(
            CustomerDetails::parse("Acme\u{202E}", "", ""),
            Err(CustomerError::Hidden(CustomerField::Name))
        );
        assert_eq!(
            CustomerDetails::parse("Acme", "a\u{0}", ""),
            Err(CustomerError::Hidden(CustomerField::Country))
        );
        assert_eq!(
            CustomerDetails::parse("Acme", "", &"p".repeat(CustomerDetails::MAX_FIELD + 1)),
            Err(CustomerError::TooLong(CustomerField::Products))
        );
        assert!(CustomerDetails::parse(&"é".repeat(CustomerDetails::MAX_NAME), "", "").is_ok());
    }
}
