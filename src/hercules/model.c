/*
 * Which device model hdtglan drives (seam.h): CMake's GLAN_HERC_MODEL
 * chooses.  "osa" is the OSA-Express device model of src/osa through its
 * adapter model_osa.c; "none" leaves glan_herc_model NULL, and GLAN devices
 * then attach to their LAN but reject every channel command.
 */
#include "seam.h"

#if defined(GLAN_HERC_MODEL_OSA)
const struct glan_herc_model *glan_herc_model = &glan_herc_osa_model;
#else
const struct glan_herc_model *glan_herc_model = NULL;
#endif
