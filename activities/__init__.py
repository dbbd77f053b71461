"""Every side effect of the workflows: notifications, records, directory reads."""
