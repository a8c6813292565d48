"""The workflow's figures: composites (Fig. 6), case studies (Fig. 7), training, seeds, index,
and Application 2's skill map.

Every figure function reads the products of earlier rules, draws one figure of a fixed size
(``figsize`` inches at ``dpi``, no tight bounding box, so the PNG's pixel size is known in advance)
and writes it atomically to each path in ``outputs`` (``.png`` or ``.pdf``). They return the
matplotlib Figure, so tests can read back what it shows (titles, outlines, colour ranges).

Maps never download anything: coastlines and land come from the Natural Earth 110m shapefiles
shipped inside the package (``geoxai/data/natural_earth``), and cartopy is pointed at that folder
for the duration of each figure (:func:`geoxai.figures.base.offline_natural_earth`). Features are always requested at
the explicit 110m scale, because cartopy's automatic scale picks 50m/10m for regional zooms, and
those are not shipped.

Maps show the data's own domain (:func:`geoxai.figures.maps.data_extent`, from the file's ``lat``/``lon``): a global
grid keeps the global Robinson view, a regional one is drawn on PlateCarree centred on its domain,
which may cross the 0/360 meridian or the dateline. The case studies' zoom box is clipped to the
domain (the panel title says so); a box wholly outside it is an error.
"""
