"""FAQ testing for the council's staff: FAQ entries (knowledge/faq.yml), test cases
(tests/faq/cases/*.yml) run against the bot over REST, and the gaps found in the tracker store."""
