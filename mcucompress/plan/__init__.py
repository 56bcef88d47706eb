"""Static memory planning: tensor lifetimes over the op order, then offsets in one arena."""
