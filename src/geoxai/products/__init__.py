"""Every file layout the workflow writes, each writer beside its reader.

The two front ends (:mod:`geoxai.enso`, :mod:`geoxai.lst`) meet the back end here: both write
``anomalies.nc`` (:mod:`.anomalies`) and label tables (:mod:`.labels`), which is all that
training, explanation and the figures read.
"""
