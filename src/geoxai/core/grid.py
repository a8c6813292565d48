"""CF attributes of the regular latitude/longitude grid every product is written on."""

LAT_ATTRS = {"units": "degrees_north", "standard_name": "latitude", "long_name": "latitude"}
LON_ATTRS = {"units": "degrees_east", "standard_name": "longitude", "long_name": "longitude"}


def lat_lon_attrs(*keys: str) -> tuple[dict[str, str], dict[str, str]]:
    """:data:`LAT_ATTRS` and :data:`LON_ATTRS` cut to ``keys``, in that order.

    Files that copy a source writing fewer attributes (CESM's stores, COBE-SST2) keep that source's
    set, while the values still come from here.
    """
    return {key: LAT_ATTRS[key] for key in keys}, {key: LON_ATTRS[key] for key in keys}
