/* The kernel sources of cl/, embedded at build time by cmake/embed_cl.cmake. */
#ifndef DNACL_CL_SOURCES_H
#define DNACL_CL_SOURCES_H
typedef struct dnacl_cl_source {
  const char *family;  /* file stem: "conv1d" for cl/conv1d.cl */
  const char *text;
} dnacl_cl_source;
extern const dnacl_cl_source dnacl_cl_sources[]; /* terminated by {0, 0} */
#endif
