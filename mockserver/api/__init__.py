"""The HTTP layer: parse requests, call the mock, render answers. No simulation logic lives here."""
