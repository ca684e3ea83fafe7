# parry_component(NAME BINARY [DEPS...]): everything in the folder (recursively)
# except main.c becomes the library parry_NAME, which both the binary and the
# tests link; main.c alone makes the binary in build/bin/.
function(parry_component name binary)
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.c)
  list(REMOVE_ITEM sources ${CMAKE_CURRENT_SOURCE_DIR}/main.c)
  add_library(parry_${name} STATIC ${sources})
  parry_target_warnings(parry_${name})
  target_include_directories(parry_${name} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(parry_${name} PUBLIC parry_common ${ARGN})
  add_executable(${binary} ${CMAKE_CURRENT_SOURCE_DIR}/main.c)
  parry_target_warnings(${binary})
  target_link_libraries(${binary} PRIVATE parry_${name})
endfunction()
