// points.vert: the data as round sprites, placed by the same forward pass as the sheet, so they
// lie exactly on it in every panel.
// attributes: a_x (vec2: input coordinate, uploaded once), a_label (float: 0 or 1)
// uniforms:   network.glsl's and anatomy.glsl's (u_stage), u_space (0 lift, 1 plane, 2 input),
//             u_size (float: diameter px), u_class0 / u_class1 (vec4), u_depth_bias (float: pulls sprites off the sheet)
// varyings:   v_color (vec4), v_size (float: diameter px)
// hooks:      $transform
#include "network.glsl"
#include "anatomy.glsl"

attribute vec2 a_x;
attribute float a_label;
uniform float u_space;
uniform float u_size;
uniform vec4 u_class0;
uniform vec4 u_class1;
uniform float u_depth_bias;
varying vec4 v_color;
varying float v_size;

void main() {
    gl_Position = $transform(vec4(staged_place(a_x, u_space), 1.0));
    gl_Position.z -= u_depth_bias * gl_Position.w;
    v_color = a_label > 0.5 ? u_class1 : u_class0;
    v_size = u_size;
    gl_PointSize = u_size + 2.0;
}
