"""The enforcement "three systems" tracker: domain models, rules (services) and web layer."""
