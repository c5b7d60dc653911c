"""The desks: change pages whose buttons reach across apps (see ``ops/desk/``)."""

from ops.desk import complaint, customer, incident  # noqa: F401 - each registers its model admin
