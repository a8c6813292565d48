"""Application 2 front end: next-season land temperature from a CESM control run.

It turns the CESM stores into the contract the back end reads: ``anomalies.nc`` and one label
table per land box.
"""
