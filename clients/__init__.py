"""How partnerflow's processes talk to Temporal as clients: one door, :mod:`clients.temporal`."""
