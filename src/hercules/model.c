/*
 * Which device model hdtglan drives (seam.h).  TODO(osa-seam): the OSA
 * device model is not in the tree yet; when it is, its adapter file in this
 * folder defines a struct glan_herc_model from include/guestlan/osa.h and
 * this pointer is set to it.  Until then it stays NULL and GLAN devices
 * attach to their LAN but reject every channel command.
 */
#include "seam.h"

const struct glan_herc_model *glan_herc_model = NULL;
