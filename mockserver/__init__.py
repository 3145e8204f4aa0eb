"""A local mock of the Nexmo Messages and Workflows (Dispatch) APIs."""

__version__ = "0.1.0"
