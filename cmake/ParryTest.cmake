# parry_add_tests(LABEL dir) turns every test_*.c in dir into one cmocka runner,
# registered with ctest under LABEL. One runner per file keeps failures local.
function(parry_add_tests label dir)
  file(GLOB sources CONFIGURE_DEPENDS ${dir}/test_*.c)
  foreach(src ${sources})
    get_filename_component(name ${src} NAME_WE)
    set(target ${label}_${name})
    add_executable(${target} ${src})
    parry_target_warnings(${target})
    target_include_directories(${target} PRIVATE ${CMAKE_SOURCE_DIR}/tests/support)
    target_link_libraries(${target} PRIVATE parry_test_support ${ARGN} PkgConfig::CMOCKA)
    set_target_properties(${target} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
    add_test(NAME ${label}/${name} COMMAND ${target})
    set_tests_properties(${label}/${name} PROPERTIES LABELS ${label} TIMEOUT 300
      ENVIRONMENT "PARRY_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
  endforeach()
endfunction()
