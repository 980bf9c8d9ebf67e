/** `GET /thumbs/:cid.jpg` — a picture taken from a live stream, named by its content (so cached forever). */
import { Refusal } from '../../refusals.ts';
import type { Route } from '../../router.ts';
import type { MediaContext } from '../context.ts';

export function thumbnailRoutes(ctx: MediaContext): Route[] {
  return [
    {
      method: 'GET',
      path: '/thumbs/:file',
      handler: ({ params }) => {
        const picture = params.file.endsWith('.jpg') ? ctx.deps.thumbnails?.picture(params.file.slice(0, -4)) : null;
        if (!picture) throw new Refusal('NoSuchThumbnail', `there is no thumbnail ${params.file}`);
        return new Response(picture, { headers: { 'Content-Type': 'image/jpeg', 'Cache-Control': 'public, max-age=31536000, immutable' } });
      },
    },
  ];
}
