"""Application 1 front end: ENSO phase from observed SST (COBE-SST2) and the Nino3.4 index.

It turns its inputs into the contract the back end reads: ``anomalies.nc`` and a label table.
"""
