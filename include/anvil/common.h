/*
 * common.h - visibility and attribute macros for the public headers.
 */
#ifndef ANVIL_COMMON_H
#define ANVIL_COMMON_H

#define ANVIL_API __attribute__((visibility("default")))
#define ANVIL_MUSTCHECK __attribute__((warn_unused_result))

#endif
