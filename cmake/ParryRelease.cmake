# Release builds (`make release`, scripts/release-build.sh): link-time and
# profile-guided optimization. Off in the everyday build, which the tests
# use: LTO makes a full build take minutes instead of seconds.
#
#   -DPARRY_LTO=ON            whole-program inlining across the libraries
#   -DPARRY_PGO=GENERATE      instrumented binaries that record their branches
#   -DPARRY_PGO=USE           binaries laid out by what was recorded
#   -DPARRY_PGO_DIR=DIR       where the profile goes (default build/pgo)
#
# GENERATE and USE must be built in the same build directory: GCC names each
# object's profile after its path. USE compiles code the training never ran
# (-fprofile-partial-training) as it would without a profile, instead of
# treating it as cold: training exercises normalization and detection, not
# every path of every service.
option(PARRY_LTO "Link-time optimization (release builds)" OFF)
set(PARRY_PGO "" CACHE STRING "Profile-guided optimization: GENERATE, USE or empty")
set(PARRY_PGO_DIR "${CMAKE_BINARY_DIR}/pgo" CACHE PATH "Profile directory for PARRY_PGO")

if(PARRY_LTO)
  include(CheckIPOSupported)
  check_ipo_supported(RESULT lto_ok OUTPUT lto_why LANGUAGES C)
  if(NOT lto_ok)
    message(FATAL_ERROR "PARRY_LTO=ON but the compiler cannot do LTO: ${lto_why}")
  endif()
  set(CMAKE_INTERPROCEDURAL_OPTIMIZATION ON)
endif()

if(PARRY_PGO STREQUAL "GENERATE")
  if(NOT CMAKE_C_COMPILER_ID STREQUAL "GNU")
    message(FATAL_ERROR "PARRY_PGO is written for GCC's profile options (compiler: ${CMAKE_C_COMPILER_ID})")
  endif()
  # prefer-atomic: the services count from several threads.
  add_compile_options(-fprofile-generate=${PARRY_PGO_DIR} -fprofile-update=prefer-atomic)
  add_link_options(-fprofile-generate=${PARRY_PGO_DIR})
elseif(PARRY_PGO STREQUAL "USE")
  if(NOT CMAKE_C_COMPILER_ID STREQUAL "GNU")
    message(FATAL_ERROR "PARRY_PGO is written for GCC's profile options (compiler: ${CMAKE_C_COMPILER_ID})")
  endif()
  if(NOT EXISTS ${PARRY_PGO_DIR})
    message(FATAL_ERROR "PARRY_PGO=USE: no profile at ${PARRY_PGO_DIR} (build with PARRY_PGO=GENERATE and run scripts/pgo-train.sh first)")
  endif()
  # What GCC says when reading a profile depends on what the training run
  # happened to execute ("Missing counts for called function ..." has no
  # option to turn it off), so here warnings stay warnings. The everyday and
  # sanitizer builds compile the same sources with -Werror, and
  # scripts/release-check.sh compares this build's output with theirs.
  add_compile_options(-fprofile-use=${PARRY_PGO_DIR} -fprofile-partial-training
                      -Wno-missing-profile)
  list(REMOVE_ITEM PARRY_WARNING_FLAGS -Werror)
  add_link_options(-fprofile-use=${PARRY_PGO_DIR})
elseif(NOT PARRY_PGO STREQUAL "")
  message(FATAL_ERROR "PARRY_PGO must be GENERATE, USE or empty, not \"${PARRY_PGO}\"")
endif()
